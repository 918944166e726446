/**
 * Durations as a config writes them: whole milliseconds (`5000`) or a number
 * with a unit (`"250ms"`, `"5s"`, `"1.5m"`, `"1h"`), so nobody counts zeros.
 * Every `…Ms` key of the config and of the library's options takes both; the
 * parsed value is always milliseconds. It sits in core because the option
 * schemas of every layer (health, agents, affinity, algorithms) use it.
 */
import { z } from "zod";

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

/** The longest delay a Node timer holds: anything above 2^31-1 ms fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A duration string; JSON Schema readers (the config reference) recognise duration fields by it. */
export const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/;

/** Milliseconds in `text` ("250ms", "5s", "1.5m", "1h"), or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  // Rounded to a microsecond so that "1.1s" is 1100, not 1100.0000000000002.
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as Unit] * 1000) / 1000;
}

/** `ms` in the largest unit that states it exactly: 600000 → "10m", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const unit of ["h", "m", "s"] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * A `…Ms` field: whole milliseconds from `min` to `max`, written as a number
 * or a duration string; every failure says the range and both forms.
 */
export function durationMs(min: number, max: number) {
  const error = `expected a duration from ${formatDuration(min)} to ${formatDuration(max)}: whole milliseconds, or a number with a unit such as "250ms", "5s", "2m", "1h"`;
  const milliseconds = z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
  return z
    .union([milliseconds, z.string().regex(DURATION, { error })], { error })
    .transform((value) => (typeof value === "number" ? value : (parseDuration(value) as number)))
    .pipe(milliseconds);
}
