/**
 * The dashboard in a real browser: the bundle built by the build script,
 * real backends behind a running Switchyard (two pools, admin API with a
 * token, routes on one listener), Debian's Chromium driven headless by
 * playwright-core. Traffic goes through the proxy while the test reads the
 * page and its routes, switches the algorithm, disables a backend, runs a
 * load test and changes pool from the UI, checking each change on the server. Any console error or page error fails the test.
 * The screenshot lands in test-artifacts/dashboard.png.
 */

import { mkdir } from "node:fs/promises";
import http from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../scripts/build-dashboard.mjs";
import { parseConfig } from "../src/config/load.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { launchChromium } from "./helpers/chromium.js";
import { LOCALHOST, request, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const TOKEN = "dashboard-test-token";
const ARTIFACTS = new URL("../test-artifacts/", import.meta.url);

let backends: Map<string, TestServer>;
let runtime: Runtime;
let browser: Browser;
let page: Page;
let adminUrl: string;
const problems: string[] = [];
let traffic: { stop(): Promise<number> };

/** Sends requests through the proxy, one at a time with a short pause, until stopped (at most 60 s). */
function sendTraffic(port: number): { stop(): Promise<number> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let stopped = false;
  let sent = 0;
  const loop = (async () => {
    const deadline = Date.now() + 60_000;
    while (!stopped && Date.now() < deadline) {
      await request({ port, path: "/", agent }).catch(() => undefined);
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      agent.destroy();
      return sent;
    },
  };
}

beforeAll(async () => {
  await buildDashboard();
  backends = new Map();
  for (const name of ["b1", "b2", "b3", "api-1"]) {
    backends.set(
      name,
      await startServer((req, res) => {
        // /fail is what a broken backend answers, for the load test's error count.
        res.writeHead(req.url === "/fail" ? 503 : 200, { "content-type": "text/plain" });
        res.end(name);
      }),
    );
  }
  const address = (name: string) => backends.get(name)?.address as string;
  runtime = await startSwitchyard(
    parseConfig({
      listeners: [
        {
          name: "web",
          listen: `${LOCALHOST}:0`,
          pool: "web",
          routes: [
            { name: "health", match: { path: "/healthz", methods: ["GET"] }, pool: "api" },
            { name: "moved", match: { pathPrefix: "/old" }, redirect: { path: "/new", status: 301 } },
          ],
        },
        { name: "api", listen: `${LOCALHOST}:0`, pool: "api" },
      ],
      pools: {
        web: {
          algorithm: "round-robin",
          backends: ["b1", "b2", "b3"].map((id) => ({ id, address: address(id) })),
        },
        api: { backends: [{ id: "api-1", address: address("api-1") }] },
      },
      admin: { listen: `${LOCALHOST}:0`, token: TOKEN },
    }),
  );
  const web = runtime.listeners.find((listener) => listener.name === "web");
  if (!web || !runtime.admin) throw new Error("the runtime did not start its listeners");
  traffic = sendTraffic(web.port);
  adminUrl = `http://${LOCALHOST}:${runtime.admin.port}/`;

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (failed) => {
    // The event stream is cut when the page closes; anything else failing is a problem.
    if (!failed.url().endsWith("/api/events")) problems.push(`request failed: ${failed.url()}`);
  });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await traffic?.stop();
  await runtime?.close(0);
  await Promise.all([...(backends?.values() ?? [])].map((backend) => backend.close()));
});

/** The number shown in the requests-per-second card. */
async function shownRps(): Promise<number> {
  return Number((await page.getByTestId("rps").textContent())?.replace(/,/g, ""));
}

describe("dashboard in Chromium", () => {
  it("shows live traffic, switches the algorithm, disables a backend and runs a load test from the UI", async () => {
    await page.goto(`${adminUrl}#token=${TOKEN}`);
    // The token is taken from the fragment and the fragment cleared.
    await page.waitForFunction(() => !location.hash.includes("token"));
    await expect.poll(() => page.getByText("admin token set").count()).toBe(1);

    // Charts and figures fill in from the live stream.
    await expect.poll(shownRps, { timeout: 10_000 }).toBeGreaterThan(0);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll<HTMLElement>(".chart-canvas")].every(
          (chart) => Number(chart.dataset.points) >= 2,
        ),
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.locator(".chart-canvas canvas").count()).toBe(2);
    await expect.poll(() => page.locator("table.backends tbody tr").count()).toBe(3);
    expect(await page.locator(".decisions > li").count()).toBeGreaterThan(0);

    // The web listener's routes in order, with what they match, where they go and what they took.
    const routes = page.getByRole("list", { name: "Routes of listener web" }).locator("li");
    await expect
      .poll(() => routes.allTextContents())
      .toEqual([
        "healthGET /healthz→ pool api0 requests",
        "moved/old/*redirect 301 → /new0 requests",
        expect.stringMatching(/^defaultevery request→ pool web[1-9][\d,]* requests$/),
      ]);

    // Switch the algorithm from the UI; the server follows.
    await page.getByLabel("Switch to").selectOption("least-connections");
    await page.getByRole("button", { name: "Switch", exact: true }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toContain("least-connections");
    const status = JSON.parse(
      (await request({ port: runtime.admin?.port as number, path: "/api/status" })).text,
    );
    expect(status.pools.web.algorithm).toBe("least-connections");
    expect(runtime.balancers.get("web")?.algorithm).toBe("least-connections");
    await expect.poll(() => page.getByTestId("algorithm").textContent()).toBe("least-connections");

    // Disable b2 from the UI: it gets no traffic afterwards, the others still do.
    await page.getByRole("button", { name: "Disable b2" }).click();
    await waitFor(() => runtime.balancers.get("web")?.pool.get("b2")?.enabled === false, 5_000);
    await page.getByRole("button", { name: "Enable b2" }).waitFor();
    const b2 = backends.get("b2") as TestServer;
    const others = () => (backends.get("b1")?.requests ?? 0) + (backends.get("b3")?.requests ?? 0);
    const b2Before = b2.requests;
    const othersBefore = others();
    await waitFor(() => others() >= othersBefore + 40, 10_000);
    expect(b2.requests).toBe(b2Before);

    // A short load test started from the UI shows its progress, then its result.
    await page.getByLabel("Requests/s").fill("50");
    await page.getByLabel("Duration (s)").fill("1");
    await page.getByRole("button", { name: "Start" }).click();
    await expect
      .poll(() => page.locator(".load-progress .badge").textContent(), { timeout: 10_000 })
      .toBe("done");
    expect(Number(await page.locator(".figures dd").first().textContent())).toBeGreaterThan(0);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("dashboard.png", ARTIFACTS).pathname, fullPage: true });

    // Several pools: the selector shows the other pool's backends.
    await page.getByLabel("Pool").selectOption("api");
    await expect
      .poll(() => page.locator("table.backends tbody .backend-id").allTextContents())
      .toEqual(["api-1"]);

    // Last, as it trips the web pool's breakers: a load test answered 5xx shows each answer as an error.
    await page.getByLabel("Path").fill("/fail");
    await page.getByRole("button", { name: "Start" }).click();
    // One read of the head, badge included: reading the badge and the path apart could pair the
    // last run's "done" with the new run's path.
    await expect
      .poll(() => page.locator(".load-head").textContent(), { timeout: 10_000 })
      .toMatch(/^done.* \/fail$/);
    // The server's record of the run: on a mismatch it shows every answer's status class.
    const auth = { authorization: `Bearer ${TOKEN}` };
    const failRun = JSON.parse(
      (await request({ port: runtime.admin?.port as number, path: "/api/load-test", headers: auth })).text,
    ).runs[0];
    expect([failRun.path, failRun.status, failRun.errors, failRun.unanswered, failRun.statusClasses]).toEqual(
      ["/fail", "done", failRun.sent, 0, { "5xx": failRun.sent }],
    );
    const sent = Number(await page.locator(".figures dd").first().textContent());
    expect(sent).toBe(failRun.sent);
    expect(sent).toBeGreaterThan(0);
    expect(Number(await page.getByTestId("load-errors").textContent())).toBe(sent);
    expect(await page.getByTestId("load-error-split").textContent()).toContain(
      `${sent} answered 5xx, 0 unanswered`,
    );

    expect(problems).toEqual([]);
  });

  it("opens on the last minutes of history, shows the algorithm's own figures, and fits 420 px", async () => {
    const adminPort = runtime.admin?.port as number;
    const keptPoints = async () => {
      const history = JSON.parse((await request({ port: adminPort, path: "/api/history?pool=web" })).text);
      return (history.pools.web.time as number[]).length;
    };
    // The server has sampled the pool every second since it started, page or no page.
    await expect.poll(keptPoints, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
    const kept = await keptPoints();
    const narrow = await browser.newPage({ viewport: { width: 420, height: 900 } });
    narrow.on("pageerror", (error) => problems.push(`narrow page error: ${error.message}`));
    await narrow.goto(`${adminUrl}#token=${TOKEN}`);
    await narrow.getByLabel("Pool").selectOption("web");
    // Within 4 s (the live feed alone brings at most 5 points) the charts hold what the server kept.
    await narrow.waitForFunction(
      (least) =>
        [...document.querySelectorAll<HTMLElement>(".chart-canvas")].every(
          (chart) => Number(chart.dataset.points) >= least,
        ),
      kept,
      { timeout: 4_000 },
    );

    // ALPHA1 and BETA1 show what they report; an algorithm without figures says so.
    const switchTo = async (algorithm: string) => {
      const body = JSON.stringify({ pool: "web", algorithm });
      const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
      await request({ port: adminPort, method: "POST", path: "/api/strategy", headers, body });
      await expect.poll(() => narrow.getByTestId("algorithm").textContent()).toBe(algorithm);
    };
    await switchTo("alpha1");
    const figures = narrow.getByTestId("algorithm-figures");
    await expect.poll(() => figures.textContent()).toContain("β (interference)");
    for (const label of ["γ (age)", "p99 target", "hedge rate", "hedge budget5.0%"]) {
      expect(await figures.textContent()).toContain(label);
    }
    await switchTo("beta1");
    await expect.poll(() => figures.textContent()).toContain("cache hit rate");
    expect(await figures.textContent()).toContain("warm-up");
    await switchTo("round-robin");
    await expect.poll(() => narrow.getByText("reports no figures of its own").count()).toBe(1);

    // Nothing scrolls sideways and nothing is cut off at 420 px.
    await expect.poll(() => narrow.locator("table.backends tbody tr").count()).toBe(3);
    const overflow = await narrow.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const outside = [...document.querySelectorAll<HTMLElement>("main *, header *")]
        .filter((element) => {
          const box = element.getBoundingClientRect();
          return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
        })
        .map((element) => `${element.tagName.toLowerCase()}.${element.className}`);
      return { scrollWidth: document.documentElement.scrollWidth, width, outside: outside.slice(0, 10) };
    });
    expect(overflow.outside).toEqual([]);
    expect(overflow.scrollWidth).toBeLessThanOrEqual(overflow.width);
    for (const name of ["Disable b1", "Drain b3", "Set weight of b2"]) {
      await expect(narrow.getByRole("button", { name }).isVisible()).resolves.toBe(true);
    }
    await narrow.screenshot({ path: new URL("dashboard-420.png", ARTIFACTS).pathname, fullPage: true });
    await narrow.close();
    expect(problems).toEqual([]);
  });
});
