/**
 * The admin token the dashboard's writes carry. It arrives in the URL
 * fragment (`#token=…`, as `switchyard demo` prints it: a fragment never
 * reaches a server or a Referer header), is kept in sessionStorage for this
 * tab only, and is then removed from the address bar so it is not
 * bookmarked, shared or left in the history by accident.
 */
const STORAGE_KEY = "switchyard.adminToken";

/** The token from the fragment (stored, then removed from the URL), else the stored one, else "". */
export function takeToken(): string {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given === null) return readStored();
  fragment.delete("token");
  const rest = fragment.toString();
  history.replaceState(history.state, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
  storeToken(given);
  return given;
}

/** Keeps `token` for this tab; "" forgets it. */
export function storeToken(token: string): void {
  try {
    if (token === "") sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage disabled (private mode, policy): the token lasts until the tab reloads.
  }
}

function readStored(): string {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? "";
  } catch {
    return "";
  }
}
