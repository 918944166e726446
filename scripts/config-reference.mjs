// Writes the configuration reference (switchyard.schema.json, docs/config.md)
// from the built schema: `npm run config-reference` builds, then runs this.
import { mkdir, writeFile } from "node:fs/promises";
import { configReferenceFiles } from "../dist/config/reference.js";

const root = new URL("../", import.meta.url);
for (const [path, text] of Object.entries(configReferenceFiles())) {
  const target = new URL(path, root);
  await mkdir(new URL("./", target), { recursive: true });
  await writeFile(target, text);
  console.log(`wrote ${path}`);
}
