/**
 * Secrets out of the config before the admin API serves it: any field whose
 * name says it holds a secret (`token`, `password`, `secret`, `apiKey`, …)
 * is replaced by "***" wherever it sits, so a secret added to the schema
 * later is hidden without anyone remembering to list it here.
 */
export const REDACTED = "***";

const SECRET_KEY = /(?:token|password|passphrase|secret|api[-_]?key|credentials?)$/i;

/** A deep copy of `value` with secret-named fields replaced by "***". */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== "object") return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    copy[key] =
      SECRET_KEY.test(key) && field !== undefined && field !== null ? REDACTED : redactSecrets(field);
  }
  return copy;
}
