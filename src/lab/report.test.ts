import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ReportChart } from "./chart-data.js";
import { algorithmLabel, compareAlgorithms, parseAlgorithmList } from "./compare.js";
import { renderHtmlReport } from "./html-report.js";
import { loadReportAssets } from "./report-assets.js";
import type { SimulationResult } from "./run-results.js";
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

/** The inline JSON of every chart in `html`, in page order. */
function chartsIn(html: string): ReportChart[] {
  const blocks = html.matchAll(/<script type="application\/json" class="chart-data">(.*?)<\/script>/g);
  return [...blocks].map((match) => JSON.parse(match[1] as string) as ReportChart);
}

describe("renderHtmlReport", () => {
  it("is one self-contained document: uPlot, its stylesheet and the chart data inline", async () => {
    const assets = await loadReportAssets();
    const results = small();
    const html = renderHtmlReport(results, assets);
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(assets.script).toContain("u-legend");
    expect(html).toContain(`<script>${assets.script}</script>`);
    expect(assets.style).toContain(".u-legend");
    expect(html).toContain(assets.style);
    // Nothing is fetched: no external script, stylesheet or image.
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?https?:/i);
    expect(html).not.toMatch(/<link/i);
    // The table carries the numbers without JavaScript; the traffic share stays SVG.
    expect(html).toContain("<table>");
    expect(html).toContain("Share of served requests per backend");

    const [percentiles, timeline] = chartsIn(html) as [ReportChart, ReportChart];
    expect(chartsIn(html)).toHaveLength(2);
    expect(percentiles.xNames).toEqual(["p50", "p95", "p99", "p99.9"]);
    expect(percentiles.series.map((s) => s.name)).toEqual(["round-robin", "power-of-two-choices"]);
    results.forEach((r, i) => {
      const { p50, p95, p99, p999 } = r.latency;
      expect(percentiles.series[i]?.values).toEqual([p50, p95, p99, p999]);
      expect(timeline.series[i]?.name).toBe(r.algorithm);
      expect(timeline.series[i]?.values).toEqual(r.timeline.p99.map((v) => (v > 0 ? v : null)));
    });
    expect(timeline.x).toHaveLength(results[0]?.timeline.p99.length as number);
    // The failure scenario's episode, marked on the time chart at its start and end.
    expect(timeline.markers.map((m) => m.label)).toEqual(
      results[0]?.events
        .filter((e) => e.kind !== "marked-down" && e.kind !== "marked-up")
        .map((e) => `${e.backend} ${e.kind}`),
    );
    expect(timeline.markers.length).toBeGreaterThanOrEqual(2);
    expect(html).not.toContain("fell back");
  });

  it("names the algorithms that ran without an input the simulation lacks, with the reason", async () => {
    const results = compareAlgorithms("uniform", ["round-robin", "metrics", "geographical"], {
      requests: 2000,
    });
    const html = renderHtmlReport(results, await loadReportAssets());
    const note = html.slice(html.indexOf('<div class="fallbacks'), html.indexOf("<table>"));
    expect(note).toContain(
      "<li><b>metrics</b>: no ready backend had fresh agent reports: round-robin (2000 picks)</li>",
    );
    expect(note).toMatch(
      /<li><b>geographical<\/b>: client location unknown .*least in flight \(2000 picks\)/,
    );
    expect(note).not.toContain("round-robin</b>");
  });

  it("escapes names, in the page and in the chart data", async () => {
    const [result] = small();
    const html = renderHtmlReport(
      [{ ...(result as SimulationResult), algorithm: "</script><b>x</b>" }],
      await loadReportAssets(),
    );
    expect(html).not.toContain("<b>x</b>");
    expect(html).toContain("&#60;b&#62;x&#60;/b&#62;");
    expect(chartsIn(html)[0]?.series[0]?.name).toBe("</script><b>x</b>");
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
    expect(await readFile(join(dir, "report.html"), "utf8")).toContain('class="chart-data"');
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
