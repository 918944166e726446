/**
 * Which environment variables put the value an issue points at, so an invalid
 * override is reported under its variable's name rather than as if the file
 * held it. Worked out only when validation fails: each variable that is set is
 * left out in turn, and those whose absence changes the value are behind it.
 */
import { isDeepStrictEqual } from "node:util";
import { type PathSegment, valueAt } from "./errors.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The variables behind `value` at `segments`; empty when the value is not the environment's. */
export type VariablesAt = (segments: readonly PathSegment[], value: unknown) => string[];

/**
 * `apply(env)` is the config with `env` applied (over the same file); `names`
 * are the variables it reads.
 */
export function variablesBehind(
  env: Env,
  names: readonly string[],
  apply: (env: Env) => unknown,
): VariablesAt {
  const valueWithout = (name: string, segments: readonly PathSegment[]): unknown => {
    try {
      return valueAt(apply({ ...env, [name]: undefined }), segments);
    } catch {
      return undefined; // the rest of the environment alone is invalid: the variable mattered
    }
  };
  return (segments, value) => {
    if (value === undefined || !isDeepStrictEqual(valueAt(apply(env), segments), value)) return [];
    return names.filter(
      (name) => env[name]?.trim() && !isDeepStrictEqual(valueWithout(name, segments), value),
    );
  };
}
