/**
 * Credentials written into an agent URL (`http://user:pass@host:8082`, for an
 * agent behind an authenticating proxy) are sent as HTTP Basic, as curl
 * does: undici would drop them silently. The URL without them is the one
 * requested, logged, shown by `/api/agents` and used as the `/metrics` label,
 * so the password never leaves the config.
 */

export interface AgentRequestTarget {
  /** The URL with no userinfo. */
  url: string;
  /** `Basic …` when the URL carried a user name or password. */
  authorization: string | undefined;
}

/** Splits `endpoint` (an `agentEndpoint` result) into the URL to request and its Basic credentials. */
export function splitAgentCredentials(endpoint: string): AgentRequestTarget {
  const url = new URL(endpoint);
  if (url.username === "" && url.password === "") return { url: endpoint, authorization: undefined };
  const userinfo = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = "";
  url.password = "";
  return { url: url.toString(), authorization: `Basic ${Buffer.from(userinfo).toString("base64")}` };
}
