/**
 * Config problems as an operator reads them: every issue names the field path
 * (`pools.web.backends[1].weight`), the value found there, and what was
 * expected; an unknown key also gets the closest known key as a suggestion.
 * zod's issues are turned into `ConfigIssue`s here, and the same structured
 * list travels in `SwitchyardError.details.issues` for programs (admin API).
 */
import type { z } from "zod";

export type PathSegment = string | number;

export type ConfigIssueKind = "invalid" | "missing" | "unknown-key";

export interface ConfigIssue {
  /** Field path as written in messages, e.g. `pools.web.backends[1].weight`; `(root)` for the whole file. */
  path: string;
  segments: PathSegment[];
  kind: ConfigIssueKind;
  /** What the field accepts, e.g. `a number no greater than 10000`. */
  expected: string;
  /** The value found, as truncated JSON; `nothing` when absent. */
  found: string;
  /** Closest known key or name, for typos. */
  suggestion?: string;
  /** Where the value sits in the config file, when it came from one. */
  location?: { file: string; line: number; column: number };
  /** The environment variables that set the value, when it came from them. */
  variables?: string[];
  /** The issue as one line, without the path. */
  message: string;
}

/** Returns the known keys of the object at a path, for suggestions (undefined when unknown). */
export type KeysAt = (path: readonly PathSegment[]) => string[] | undefined;

type ZodIssue = z.core.$ZodIssue;

/** Issue params our own checks attach to custom issues. */
interface IssueParams {
  kind?: ConfigIssueKind;
  expected?: string;
  suggestion?: string;
  known?: string[];
}

interface Normalized {
  segments: PathSegment[];
  kind: ConfigIssueKind;
  expected: string;
  suggestion?: string;
  known?: string[];
}

const FOUND_MAX = 60;

/** Converts zod issues for `input` into config issues, one per problem (unknown keys split per key). */
export function toConfigIssues(issues: readonly ZodIssue[], input: unknown, keysAt?: KeysAt): ConfigIssue[] {
  return issues.flatMap((issue) => normalize(issue, input, keysAt)).map((item) => finish(item, input));
}

/**
 * Re-expresses issues raised by a nested schema (an algorithm's options) as
 * custom issues carrying our params, so the enclosing schema can add them
 * under its own path and the final conversion keeps their wording.
 */
export function issuesFromNested(
  issues: readonly ZodIssue[],
  input: unknown,
  keysAt?: KeysAt,
): { path: PathSegment[]; message: string; params: IssueParams }[] {
  return issues
    .flatMap((issue) => normalize(issue, input, keysAt))
    .map((item) => ({
      path: item.segments,
      message: `expected ${item.expected}`,
      params: { kind: item.kind, expected: item.expected, suggestion: item.suggestion, known: item.known },
    }));
}

/** The issue list as text: a header line, then one indented line per issue. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  const header =
    issues.length === 1
      ? "invalid configuration (1 problem):"
      : `invalid configuration (${issues.length} problems):`;
  const lines = issues.map((issue) => {
    const where = issue.location
      ? ` (${issue.location.file}:${issue.location.line}:${issue.location.column})`
      : issue.variables?.length
        ? ` (from environment variable${issue.variables.length > 1 ? "s" : ""} ${issue.variables.join(", ")})`
        : "";
    return `  - ${issue.path}${where}: ${issue.message}`;
  });
  return [header, ...lines].join("\n");
}

/** `["pools", "web", "backends", 1, "weight"]` → `pools.web.backends[1].weight`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let text = "";
  for (const segment of segments) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text || "(root)";
}

/** A value as short JSON for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  if (typeof value === "number" && !Number.isFinite(value)) text = String(value);
  else if (typeof value === "bigint") text = `${value}`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > FOUND_MAX ? `${text.slice(0, FOUND_MAX - 1)}…` : text;
}

/** The value at `segments` inside `input`, or undefined when the path does not exist. */
export function valueAt(input: unknown, segments: readonly PathSegment[]): unknown {
  let current = input;
  for (const segment of segments) {
    if (current === null || typeof current !== "object") return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/** Edit distance between two strings (insertions, deletions, substitutions). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * The candidate closest to `word` (case-insensitive) within `maxDistance`
 * edits, or undefined; a candidate that needs every letter changed is no suggestion.
 */
export function closest(word: string, candidates: readonly string[], maxDistance = 2): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const distance = levenshtein(lower, candidate.toLowerCase());
    if (distance > maxDistance || distance >= Math.max(word.length, candidate.length)) continue;
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function finish(item: Normalized, input: unknown): ConfigIssue {
  const value = valueAt(input, item.segments);
  const found = describeValue(value);
  const path = formatPath(item.segments);
  const hint = item.suggestion ? `; did you mean "${item.suggestion}"?` : "";
  let message: string;
  if (item.kind === "unknown-key") {
    const key = item.segments[item.segments.length - 1];
    const known = item.known?.length ? `; known keys here: ${item.known.join(", ")}` : "";
    const guess = item.suggestion ? `; did you mean "${item.suggestion}"?` : "";
    message = `unknown key "${String(key)}" (value ${found})${known}${guess}`;
  } else if (item.kind === "missing" || value === undefined) {
    message = `missing; expected ${item.expected}${hint}`;
  } else {
    message = `expected ${item.expected}, found ${found}${hint}`;
  }
  const issue: ConfigIssue = {
    path,
    segments: item.segments,
    kind: item.kind === "invalid" && value === undefined ? "missing" : item.kind,
    expected: item.expected,
    found,
    message,
  };
  if (item.suggestion) issue.suggestion = item.suggestion;
  return issue;
}

function normalize(issue: ZodIssue, input: unknown, keysAt?: KeysAt): Normalized[] {
  const segments = issue.path.filter(
    (segment): segment is PathSegment => typeof segment === "string" || typeof segment === "number",
  );
  if (issue.code === "unrecognized_keys") {
    const known = keysAt?.(segments);
    return issue.keys.map((key) => {
      const suggestion = known ? closest(key, known) : undefined;
      const item: Normalized = {
        segments: [...segments, key],
        kind: "unknown-key",
        expected: known ? `one of: ${known.join(", ")}` : "no such key",
      };
      if (known) item.known = known;
      if (suggestion) item.suggestion = suggestion;
      return item;
    });
  }
  if (issue.code === "custom" && issue.params && typeof issue.params === "object") {
    const params = issue.params as IssueParams;
    const item: Normalized = {
      segments,
      kind: params.kind ?? "invalid",
      expected: params.expected ?? stripExpected(issue.message),
    };
    if (params.suggestion) item.suggestion = params.suggestion;
    if (params.known) item.known = params.known;
    return [item];
  }
  if (issue.code === "invalid_key") {
    // A record key (pool name) failed its own schema: describe the key, not the value under it.
    const nested = issue.issues[0];
    const expected = nested ? expectation(nested) : "a valid key";
    return [{ segments, kind: "invalid", expected: `a key that is ${expected}` }];
  }
  const value = valueAt(input, segments);
  return [{ segments, kind: value === undefined ? "missing" : "invalid", expected: expectation(issue) }];
}

function stripExpected(message: string): string {
  return message.replace(/^expected /, "");
}

/** What a failed check accepts, phrased to follow the word "expected". */
function expectation(issue: ZodIssue): string {
  if (issue.message.startsWith("expected ")) return stripExpected(issue.message);
  switch (issue.code) {
    case "invalid_type":
      return TYPE_NAMES[issue.expected] ?? `a value of type ${issue.expected}`;
    case "too_big":
      return bound(issue.origin, issue.maximum, issue.inclusive ?? true, "big");
    case "too_small":
      return bound(issue.origin, issue.minimum, issue.inclusive ?? true, "small");
    case "invalid_value":
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of: ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "invalid_format":
      return issue.format === "regex" && issue.pattern
        ? `a string matching ${issue.pattern}`
        : `a valid ${issue.format}`;
    case "not_multiple_of":
      return `a multiple of ${issue.divisor}`;
    case "invalid_union":
      return "one of the accepted forms";
    default:
      return issue.message;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "an object (key: value mapping)",
  array: "a list",
  null: "null",
};

function bound(origin: string, limit: number | bigint, inclusive: boolean, side: "big" | "small"): string {
  const n = Number(limit);
  switch (origin) {
    case "array":
    case "set":
      if (side === "small") return n === 1 ? "at least 1 item" : `at least ${n} items`;
      return `at most ${n} items`;
    case "string":
      if (side === "small") return n === 1 ? "a non-empty string" : `a string of at least ${n} characters`;
      return `a string of at most ${n} characters`;
    default:
      if (side === "big") return inclusive ? `a number no greater than ${n}` : `a number less than ${n}`;
      return inclusive ? `a number no less than ${n}` : `a number greater than ${n}`;
  }
}
