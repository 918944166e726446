/**
 * A strict reader of the Prometheus text a scrape returns, for the tests that
 * check `/metrics`: it fails the test on any malformed line.
 */
import { expect } from "vitest";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of the one sample named `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  all(name: string, labels?: Record<string, string>): Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a
 * HELP, a TYPE or a sample; every sample belongs to a family declared by
 * TYPE (summaries and histograms own `_sum` and `_count`, histograms
 * `_bucket`); label sets are well formed and
 * not repeated; values are numbers (NaN and ±Inf allowed).
 */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        expect(["counter", "gauge", "summary", "histogram", "untyped"]).toContain(comment[3]);
        expect(types.has(comment[2] as string), `TYPE ${comment[2]} declared twice`).toBe(false);
        types.set(comment[2] as string, comment[3] as string);
      }
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    expect(match, `not a sample line: ${line}`).not.toBeNull();
    const [, name, labelText = "", rawValue] = match as RegExpExecArray;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < labelText.length) {
      const label = LABEL.exec(labelText);
      expect(label, `bad labels in: ${line}`).not.toBeNull();
      labels[(label as RegExpExecArray)[1] as string] = (label as RegExpExecArray)[2] as string;
    }
    const value = /^[+-]?inf$/i.test(rawValue as string)
      ? (rawValue as string).startsWith("-")
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY
      : /^nan$/i.test(rawValue as string)
        ? Number.NaN
        : Number(rawValue);
    expect(Number.isNaN(value) && !/^nan$/i.test(rawValue as string), `bad value in: ${line}`).toBe(false);
    const family = types.has(name as string) ? name : (name as string).replace(/_(sum|count|bucket)$/, "");
    expect(types.get(family as string), `sample ${name} has no TYPE`).toBeDefined();
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    expect(seen.has(key), `duplicate series ${key}`).toBe(false);
    seen.add(key);
    samples.push({ name: name as string, labels, value });
  }
  const all = (name: string, labels: Record<string, string> = {}) =>
    samples.filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
  return {
    types,
    samples,
    all,
    value(name, labels) {
      const found = all(name, labels);
      expect(found.length, `${name} ${JSON.stringify(labels)}: ${found.length} series`).toBeLessThanOrEqual(
        1,
      );
      return found[0]?.value;
    },
  };
}

export interface HistogramSeries {
  /** `[le, cumulative count]`, lowest bound first, `+Inf` last. */
  buckets: [number, number][];
  sum: number;
  count: number;
}

/**
 * One histogram series, checked for what Prometheus relies on: buckets
 * cumulative (never decreasing as `le` grows), a `+Inf` bucket, and that
 * bucket equal to `_count`.
 */
export function readHistogram(
  exposition: Exposition,
  name: string,
  labels: Record<string, string>,
): HistogramSeries {
  expect(exposition.types.get(name)).toBe("histogram");
  const buckets = exposition
    .all(`${name}_bucket`, labels)
    .map((sample): [number, number] => [
      sample.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(sample.labels.le),
      sample.value,
    ])
    .sort(([a], [b]) => a - b);
  expect(buckets.at(-1)?.[0], `${name} has a +Inf bucket`).toBe(Number.POSITIVE_INFINITY);
  buckets.forEach(([le, count], index) => {
    const below = buckets[index - 1]?.[1] ?? 0;
    expect(count, `${name} le=${le} is cumulative`).toBeGreaterThanOrEqual(below);
  });
  const count = exposition.value(`${name}_count`, labels) as number;
  expect(buckets.at(-1)?.[1]).toBe(count);
  return { buckets, sum: exposition.value(`${name}_sum`, labels) as number, count };
}
