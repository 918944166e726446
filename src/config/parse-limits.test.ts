/**
 * Config files that attack the parsers: YAML alias bombs, undefined and
 * self-referencing aliases, lists nested 100,000 deep in JSON and YAML. Each
 * is refused with one SY_ERR_CONFIG line naming the file, never a crash. Then
 * a fuzz: a few hundred seeded mutations (byte flips, truncations,
 * duplications) of valid YAML and JSON configs either load or fail the same
 * clean way.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSwitchyardError } from "../core/errors.js";
import { MAX_NESTING_DEPTH } from "../core/nesting.js";
import { seededRandom } from "../core/random.js";
import { loadConfigFile, resolveConfig } from "./load.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-limits-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** The loader's error for `text` saved as `name`: it must be SY_ERR_CONFIG on one line. */
async function refusal(name: string, text: string): Promise<string> {
  const path = await file(name, text);
  const error = await loadConfigFile(path).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(isSwitchyardError(error, "SY_ERR_CONFIG"), String(error)).toBe(true);
  const message = (error as Error).message;
  expect(message).toContain(path);
  expect(message).not.toContain("\n");
  return message;
}

const VALID_YAML = `
listeners:
  - name: web
    listen: 127.0.0.1:8080
    pool: web
pools:
  web:
    algorithm: { name: p2c }
    backends:
      - &backend { address: 127.0.0.1:9001, weight: 2, region: eu-west }
      - { <<: *backend, address: 127.0.0.1:9002, labels: { tier: gold } }
    outlierDetection: { consecutiveFailures: 5 }
admin: { listen: 127.0.0.1:9090 }
`;

const VALID_JSON = JSON.stringify(
  {
    listeners: [{ name: "web", listen: "127.0.0.1:8080", pool: "web" }],
    pools: {
      web: {
        algorithm: { name: "consistent-hash", hashKey: { source: "header", name: "x-user" } },
        backends: [
          { address: "127.0.0.1:9001", weight: 2, labels: { tier: "gold" } },
          { address: "127.0.0.1:9002", latitude: 53.3, longitude: -6.2 },
        ],
      },
    },
  },
  null,
  2,
);

describe("YAML aliases", () => {
  it("refuses alias bombs, an undefined alias and a self-referencing one with one clean line", async () => {
    let laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (let level = 1; level < 10; level++) {
      const name = String.fromCharCode(97 + level);
      const previous = String.fromCharCode(96 + level);
      laughs += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]\n`;
    }
    expect(await refusal("laughs.yaml", laughs)).toMatch(/aliases expand to more than 100 copies/);

    let merges = "m0: &m0 { x: 1, y: 2 }\n";
    for (let level = 1; level < 12; level++) {
      merges += `m${level}: &m${level}\n`;
      for (let key = 0; key < 10; key++) merges += `  k${key}: { <<: *m${level - 1} }\n`;
    }
    expect(await refusal("merges.yaml", merges)).toMatch(/aliases expand to more than 100 copies/);

    const hundred = `x: &s hello\nlist:\n${"  - *s\n".repeat(100)}`;
    expect(await refusal("hundred.yaml", hundred)).toMatch(/aliases expand to more than 100 copies/);

    expect(await refusal("undefined.yaml", "log: *nothere\n")).toMatch(/Unresolved alias.*nothere/);
    expect(await refusal("cycle.yaml", "a: &a [*a]\n")).toMatch(/aliases nest .* deeper than 64 levels/);
  });

  it("expands aliases within the limit", async () => {
    const config = await resolveConfig({ file: await file("anchors.yaml", VALID_YAML) });
    expect(config.pools.web?.backends.map((backend) => backend.weight)).toEqual([2, 2]);
    const many = `x: &s hello\nlist:\n${"  - *s\n".repeat(99)}`;
    expect(await loadConfigFile(await file("many.yaml", many))).toMatchObject({ list: expect.any(Array) });
  });
});

describe("nesting depth", () => {
  const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

  it("refuses 100,000-deep JSON and YAML at the place it gets too deep", async () => {
    const labels = (inner: string) =>
      `{"listeners": [], "pools": {"web": {"backends": [{"address": "127.0.0.1:9001", "labels": {"a": ${inner}}}]}}}`;
    expect(await refusal("deep.json", deep(100_000))).toMatch(/deep\.json:1:65: .*deeper than 64 levels/);
    expect(await refusal("deep-labels.json", labels(deep(100_000)))).toMatch(/deep-labels\.json:1:\d+: /);
    expect(await refusal("deep-flow.yaml", `listeners: ${deep(100_000)}\n`)).toMatch(
      /deep-flow\.yaml:1:\d+: /,
    );
    expect(await refusal("deep-block.yaml", `${"- ".repeat(100_000)}x\n`)).toMatch(
      /deep-block\.yaml:1:129: .*deeper than 64 levels/,
    );
    const indented = Array.from({ length: 70 }, (_, level) => `${"  ".repeat(level)}k${level}:`).join("\n");
    expect(await refusal("deep-map.yaml", `${indented} 1\n`)).toMatch(/deep-map\.yaml:65:129: /);
  });

  it("lets exactly 64 levels through to validation", async () => {
    const path = await file("edge.json", `{"x": ${deep(MAX_NESTING_DEPTH - 1)}}`);
    await expect(resolveConfig({ file: path })).rejects.toThrow(/unknown key "x"/);
    await refusal("over.json", `{"x": ${deep(MAX_NESTING_DEPTH)}}`);
  });
});

describe("fuzzed config files", () => {
  /** One mutation of `text`: bytes overwritten, a cut, or a slice copied elsewhere (maybe many times). */
  function mutate(text: Buffer, random: () => number): Buffer {
    const at = (length: number) => Math.floor(random() * length);
    const kind = at(3);
    if (kind === 0) {
      const bytes = Buffer.from(text);
      const structural = Buffer.from("[]{}:,-&*<>!|'\"#\n ?\\");
      for (let flips = 1 + at(4); flips > 0; flips--) {
        bytes[at(bytes.length)] = random() < 0.5 ? at(256) : (structural[at(structural.length)] as number);
      }
      return bytes;
    }
    if (kind === 1) return text.subarray(0, at(text.length));
    const start = at(text.length);
    const slice = text.subarray(start, start + 1 + at(80));
    const insertAt = at(text.length);
    const copies = random() < 0.2 ? 50 + at(200) : 1;
    return Buffer.concat([
      text.subarray(0, insertAt),
      ...Array<Buffer>(copies).fill(slice),
      text.subarray(insertAt),
    ]);
  }

  it("either loads each of 300 mutated files or refuses it with SY_ERR_CONFIG", async () => {
    const random = seededRandom(15);
    const outcomes = { loaded: 0, refused: 0 };
    for (let index = 0; index < 300; index++) {
      const json = index % 3 === 2;
      let text: Buffer = Buffer.from(json ? VALID_JSON : VALID_YAML);
      // Some files carry a few mutations on top of each other.
      for (let round = random() < 0.3 ? 3 : 1; round > 0; round--) text = mutate(text, random);
      const path = await file(`fuzz-${index}.${json ? "json" : "yaml"}`, text);
      try {
        await resolveConfig({ file: path });
        outcomes.loaded++;
      } catch (error) {
        if (!isSwitchyardError(error, "SY_ERR_CONFIG"))
          throw new Error(`fuzz-${index}: ${String(error)}\n--- file ---\n${text.toString("latin1")}`);
        outcomes.refused++;
      }
    }
    // The mutations are mostly fatal, but not all: both outcomes occur.
    expect(outcomes.loaded).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(100);
  });
});
