/**
 * The lab's HTML report in a real browser (Debian's Chromium, headless),
 * opened from a file as a user would: uPlot draws both charts on a canvas
 * with a legend entry per algorithm, hovering fills the legend with values,
 * a legend click hides a series, and the page needs nothing from the network.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareAlgorithms } from "../src/lab/compare.js";
import { renderHtmlReport } from "../src/lab/html-report.js";
import { loadReportAssets } from "../src/lab/report-assets.js";
import { launchChromium } from "./helpers/chromium.js";

const ALGORITHMS = ["round-robin", "p2c", "metrics"];
let dir: string;
let browser: Browser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-lab-report-"));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("lab report in a browser", () => {
  it("draws uPlot charts whose legend shows hovered values and toggles algorithms", async () => {
    const results = compareAlgorithms("failure", ALGORITHMS, { requests: 3000, seed: 5 });
    const file = join(dir, "report.html");
    await writeFile(file, renderHtmlReport(results, await loadReportAssets()));
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("request", (request) => {
      if (!request.url().startsWith("file:")) problems.push(`fetched ${request.url()}`);
    });
    await page.goto(pathToFileURL(file).href);

    const charts = page.locator(".chart");
    await expect.poll(() => charts.count()).toBe(2);
    expect(await page.locator(".chart canvas").count()).toBe(2);
    const names = results.map((r) => r.algorithm);
    for (const chart of await charts.all()) {
      // The first legend entry is the x value; then one per algorithm, in order.
      expect(await chart.locator(".u-legend .u-series .u-label").allTextContents()).toEqual([
        expect.any(String),
        ...names,
      ]);
    }

    const timeline = charts.nth(1);
    await timeline.locator(".u-over").hover();
    // Legend values follow the cursor: the time under it, then each algorithm's p99 there.
    const values = timeline.locator(".u-legend .u-series .u-value");
    await expect.poll(async () => (await values.allTextContents()).join(" ")).toMatch(/^\d.* \d/);

    const metricsEntry = timeline.locator(".u-legend .u-series").nth(3);
    await metricsEntry.click();
    await expect.poll(() => metricsEntry.getAttribute("class")).toContain("u-off");
    await page.getByRole("button", { name: "show all" }).nth(1).click();
    await expect.poll(() => metricsEntry.getAttribute("class")).not.toContain("u-off");
    expect(problems).toEqual([]);
    await page.close();
  });
});
