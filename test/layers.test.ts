/**
 * The layer rule of ARCHITECTURE.md, checked on the source text: every
 * folder of src/ (and the root files: runtime.ts, the entry points engine.ts and dispatcher.ts, index.ts) is a
 * layer, and a file may import only from its own layer or one listed below
 * it. Tests (`*.test.ts`) and shared test suites (`*.case.ts`) are exempt:
 * they exercise a unit together with the layers that run it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src");

/** Bottom to top: a layer may import the layers before it. */
const LAYERS = [
  "core",
  "http1",
  "discovery",
  "observability",
  "load",
  "hashing",
  "geo",
  "health",
  "algorithms",
  "affinity",
  "balancer",
  "proxy",
  "client",
  "agent",
  "lab",
  "config",
  "prometheus",
  "demo",
  "admin",
  "dashboard",
  "runtime",
  "cluster",
  "cli",
  "engine",
  "dispatcher",
  "index",
] as const;

interface UpwardImport {
  file: string;
  imports: string;
  from: string;
  to: string;
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(?\s*["']([^"']+)["']/g;

/** The layer of a path relative to src/: its first folder, or the root file's name. */
function layerOf(path: string): string {
  const [first = "", ...rest] = path.split("/");
  return rest.length === 0 ? first.replace(/\.(js|tsx?)$/, "") : first;
}

/** Relative import specifiers of one source text. */
function importsOf(text: string): string[] {
  const specifiers: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2];
    if (specifier?.startsWith(".")) specifiers.push(specifier);
  }
  return specifiers;
}

/** Imports of `text` (the file at `file`, relative to src/) that point to a higher layer. */
function upwardImports(file: string, text: string, layers: readonly string[] = LAYERS): UpwardImport[] {
  const from = layerOf(file);
  const rank = layers.indexOf(from);
  const found: UpwardImport[] = [];
  for (const specifier of importsOf(text)) {
    const target = relative(SRC, resolve(SRC, dirname(file), specifier));
    const to = layerOf(target);
    if (to === from) continue;
    if (rank === -1 || layers.indexOf(to) === -1 || layers.indexOf(to) > rank) {
      found.push({ file, imports: specifier, from, to });
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    const source = /\.tsx?$/.test(entry.name) && !/\.(test|case)\.tsx?$/.test(entry.name);
    return source ? [relative(SRC, path)] : [];
  });
}

describe("layers", () => {
  it("has every folder of src/ in the layer list", () => {
    const layers = new Set(sourceFiles(SRC).map(layerOf));
    expect([...layers].filter((layer) => !(LAYERS as readonly string[]).includes(layer))).toEqual([]);
  });

  it("finds no import from a lower layer into a higher one", () => {
    const upward = sourceFiles(SRC).flatMap((file) =>
      upwardImports(file, readFileSync(join(SRC, file), "utf8")),
    );
    expect(upward).toEqual([]);
  });

  it("flags an upward import, static, dynamic or re-exported", () => {
    const text = [
      'import type { Balancer } from "../balancer/balancer.js";',
      'export { HttpProxy } from "../proxy/http-proxy.js";',
      'const { main } = await import("../cli/main.js");',
      'import "../algorithms/registry.js";',
      'import { Pool } from "./pool.js";',
    ].join("\n");
    expect(upwardImports("core/example.ts", text).map((found) => found.to)).toEqual([
      "balancer",
      "proxy",
      "cli",
      "algorithms",
    ]);
    expect(upwardImports("admin/example.ts", text)).toEqual([
      expect.objectContaining({ to: "cli", imports: "../cli/main.js" }),
    ]);
  });

  it("is the order ARCHITECTURE.md documents", () => {
    const doc = readFileSync(join(ROOT, "ARCHITECTURE.md"), "utf8");
    const line = doc.split("\n").find((text) => text.startsWith("Layers, bottom to top:"));
    const documented = line
      ?.slice(line.indexOf(":") + 1)
      .split("→")
      .map((name) => name.replace(/[`.\s]/g, ""));
    expect(documented).toEqual([...LAYERS]);
  });
});
