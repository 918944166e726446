/**
 * The checked-in configuration reference (docs/config.md, switchyard.schema.json)
 * is what the schema generates now: a key added, renamed or re-described in
 * the schema without regenerating fails here.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { configReferenceFiles } from "../src/config/reference.js";

describe("configuration reference", () => {
  for (const [path, generated] of Object.entries(configReferenceFiles())) {
    it(`${path} matches the schema`, async () => {
      const checkedIn = await readFile(new URL(`../${path}`, import.meta.url), "utf8").catch(
        () => "(missing)",
      );
      expect(
        checkedIn,
        `${path} is out of date: run \`npm run config-reference\` and commit the result`,
      ).toBe(generated);
    });
  }

  it("documents every key, with its default", () => {
    const markdown = configReferenceFiles()["docs/config.md"] as string;
    expect(markdown).toContain("| `pools.<name>.healthCheck.intervalMs` | duration 1ms..1h | `5000` |");
    expect(markdown).toContain("| `listeners[].tls.certificates[].cert` | string | required |");
    expect(markdown).toContain("| `geo.cidrRegions[].region` | string | required |");
  });
});
