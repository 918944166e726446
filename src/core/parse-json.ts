/** `text` parsed as JSON, or undefined when it is not JSON: for values whose malformed form just counts as absent. */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
