/**
 * Secrets out of everything the admin API serves (its reads are open). By
 * name: a field whose name says it holds a secret (`token`, `password`,
 * `secret`, `apiKey`, a header such as `authorization` or `cookie`) or a
 * command (`healthCheck.command` may carry credentials) becomes "***"
 * wherever it sits, so a secret added to the schema later is hidden without
 * anyone remembering to list it here. By value: credentials written into a
 * URL (`http://user:pass@host`, in an agent URL, an etcd endpoint or an error
 * message) keep their user and lose the password, or lose a lone user (a
 * token) altogether.
 */
export const REDACTED = "***";

const SECRET_KEY = /(?:token|password|passphrase|secret|api[-_]?key|credentials?|authorization|cookie)$/i;
const COMMAND_KEY = /^commands?$/i;
/** `scheme://` then the userinfo up to `@`, within any text. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@]+)@/gi;

/** A deep copy of `value` with secret-named fields replaced by "***" and URL passwords hidden. */
export function redactSecrets(value: unknown): unknown {
  if (typeof value === "string") return redactUrlUserinfo(value);
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== "object") return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const secret = SECRET_KEY.test(key) || COMMAND_KEY.test(key);
    copy[key] = secret && field !== undefined && field !== null ? REDACTED : redactSecrets(field);
  }
  return copy;
}

/** `text` with every URL's password (or its lone user name) replaced by "***". */
export function redactUrlUserinfo(text: string): string {
  if (!text.includes("@")) return text;
  return text.replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    return `${scheme}${colon === -1 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`}@`;
  });
}
