import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { algorithmLabel, compareAlgorithms, parseAlgorithmList } from "./compare.js";
import { renderHtmlReport } from "./html-report.js";
import type { SimulationResult } from "./metrics.js";
import { runLabSimulate } from "./simulate-command.js";
import { formatTable } from "./table.js";

function capture() {
  let stdout = "";
  let stderr = "";
  return {
    io: {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    },
    out: () => stdout,
    err: () => stderr,
  };
}

const small = () => compareAlgorithms("failure", ["round-robin", "p2c"], { requests: 5000, seed: 3 });

describe("compare", () => {
  it("labels algorithms by canonical name, with options", () => {
    expect(algorithmLabel("p2c")).toBe("power-of-two-choices");
    expect(algorithmLabel({ name: "peak-ewma", decayMs: 5000 })).toBe("peak-ewma(decayMs=5000)");
  });

  it("parses algorithm lists and expands all from the registry", () => {
    expect(parseAlgorithmList("rr, p2c,rr")).toEqual(["rr", "p2c"]);
    const all = parseAlgorithmList("all");
    expect(all).toContain("round-robin");
    expect(all).toContain("peak-ewma");
  });

  it("runs each algorithm on the same workload and skips the ones that cannot run when asked", () => {
    const skipped: string[] = [];
    const results = compareAlgorithms("uniform", ["round-robin", "no-such-algorithm", "p2c"], {
      requests: 3000,
      onSkip: (name) => skipped.push(name),
    });
    expect(results.map((r) => r.algorithm)).toEqual(["round-robin", "power-of-two-choices"]);
    expect(skipped).toEqual(["no-such-algorithm"]);
    expect(() => compareAlgorithms("uniform", ["no-such-algorithm"], { requests: 100 })).toThrow(
      /unknown algorithm/,
    );
  });
});

describe("formatTable", () => {
  it("prints one aligned row per algorithm under a scenario header", () => {
    const text = formatTable(small());
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^scenario failure: 5000 requests at \d+ req\/s/);
    expect(lines[1]).toMatch(
      /^algorithm\s+p50 ms\s+p95 ms\s+p99 ms\s+mean ms\s+max\/mean\s+load CV\s+errors/,
    );
    expect(lines[1]).toMatch(/retries\s+hedged %\s+remapped %$/);
    expect(lines[3]).toMatch(/^round-robin\s/);
    expect(lines[4]).toMatch(/^power-of-two-choices\s/);
    expect(new Set(lines.slice(1).map((line) => line.length)).size).toBeLessThanOrEqual(2);
  });
});

describe("renderHtmlReport", () => {
  it("is one self-contained document with inline SVG charts", () => {
    const html = renderHtmlReport(small());
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("<svg");
    expect(html).toContain("<polyline");
    expect(html).toContain("power-of-two-choices");
    expect(html).not.toMatch(/<script|<link|src=/i);
    expect(html.replaceAll("http://www.w3.org/2000/svg", "")).not.toMatch(/https?:\/\//);
  });

  it("escapes names", () => {
    const [result] = small();
    const html = renderHtmlReport([{ ...(result as SimulationResult), algorithm: "<b>x</b>" }]);
    expect(html).not.toContain("<b>x</b>");
    expect(html).toContain("&#60;b&#62;x&#60;/b&#62;");
  });
});

describe("runLabSimulate", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("prints the table and writes results.json and report.html", async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-lab-"));
    const { io, out } = capture();
    const results = await runLabSimulate(
      { scenario: "heterogeneous", algorithms: "round-robin,p2c", requests: "4000", seed: "9", out: dir },
      io,
    );
    expect(results).toHaveLength(2);
    expect(out()).toContain("scenario heterogeneous: 4000 requests");
    expect(out()).toMatch(/requests\/s of simulation/);
    const saved = JSON.parse(await readFile(join(dir, "results.json"), "utf8")) as SimulationResult[];
    expect(saved.map((r) => r.algorithm)).toEqual(["round-robin", "power-of-two-choices"]);
    expect(saved[0]?.seed).toBe(9);
    expect(await readFile(join(dir, "report.html"), "utf8")).toContain("<svg");
  });

  it("shows progress on one rewritten line when stderr is a terminal, and none otherwise", async () => {
    const terminal: string[] = [];
    const io = {
      stdout: { write: () => true },
      stderr: { isTTY: true, write: (text: string) => terminal.push(text) },
    };
    await runLabSimulate({ scenario: "uniform", algorithms: "rr,p2c", requests: 1000 }, io);
    expect(terminal).toEqual([
      "\r\u001b[2Kscenario 1/1 uniform: round-robin (1/2)",
      "\r\u001b[2Kscenario 1/1 uniform: power-of-two-choices (2/2)",
      "\r\u001b[2K",
    ]);
    const { io: piped, err } = capture();
    await runLabSimulate({ scenario: "uniform", algorithms: "rr", requests: 1000 }, piped);
    expect(err()).toBe("");
  });

  it("prints JSON only with json", async () => {
    const { io, out } = capture();
    await runLabSimulate({ scenario: "uniform", algorithms: "rr", requests: 2000, json: true }, io);
    const parsed = JSON.parse(out()) as SimulationResult[];
    expect(parsed[0]?.algorithm).toBe("round-robin");
    expect(parsed[0]?.latency.p99).toBeGreaterThan(0);
  });

  it("rejects bad options with coded errors naming them", async () => {
    const { io } = capture();
    await expect(runLabSimulate({ scenario: "nope" }, io)).rejects.toMatchObject({
      code: "SY_ERR_INVALID_OPTIONS",
      message: expect.stringContaining("uniform, heterogeneous"),
    });
    await expect(runLabSimulate({ scenario: "uniform", requests: "lots" }, io)).rejects.toMatchObject({
      code: "SY_ERR_INVALID_OPTIONS",
      message: expect.stringContaining("--requests"),
    });
    await expect(
      runLabSimulate({ scenario: "uniform", algorithms: "nope", requests: 10 }, io),
    ).rejects.toMatchObject({
      code: "SY_ERR_UNKNOWN_ALGORITHM",
    });
  });
});
