/**
 * Calls to the admin API from the page (same origin, paths relative to the
 * page so the dashboard also works behind a path prefix). Writes carry the
 * bearer token; any refusal becomes an ApiError with the API's own
 * `{ error, message }`, shown to the user as it is.
 */

export class ApiError extends Error {
  /** `SY_ERR_…` from the API, or `HTTP <status>` / `NETWORK` when there was no coded answer. */
  readonly code: string;
  readonly status: number;

  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

export interface ApiCall {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Relative to the page: `api/strategy`. */
  path: string;
  body?: unknown;
  token?: string;
}

export async function callApi<Result>(call: ApiCall): Promise<Result> {
  const headers: Record<string, string> = {};
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(call.path, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ApiError("NETWORK", 0, `the admin API did not answer (${reason})`);
  }
  const text = await response.text();
  const json = parse(text);
  if (!response.ok) {
    const coded = json as { error?: unknown; message?: unknown } | undefined;
    throw new ApiError(
      typeof coded?.error === "string" ? coded.error : `HTTP ${response.status}`,
      response.status,
      typeof coded?.message === "string" ? coded.message : response.statusText || "request failed",
    );
  }
  return json as Result;
}

/** `api/servers/:id?pool=` for one backend. */
export function serverPath(pool: string, id: string, query: Record<string, string> = {}): string {
  const search = new URLSearchParams({ pool, ...query });
  return `api/servers/${encodeURIComponent(id)}?${search}`;
}

function parse(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
