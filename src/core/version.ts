/**
 * The package version, read from package.json once. The file sits two levels
 * above this module both in `src/core/` and in the built `dist/core/`.
 */
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
      const version = (JSON.parse(text) as { version?: unknown }).version;
      cached = typeof version === "string" ? version : "unknown";
    } catch {
      cached = "unknown";
    }
  }
  return cached;
}
