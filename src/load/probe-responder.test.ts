import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ProbeResponder } from "./probe-responder.js";

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((closed) => server.close(closed))));
});

/** A server that holds each request until `release()`, and answers probes. */
async function heldServer(probes: ProbeResponder) {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    if (probes.answer(req, res)) return;
    probes.track(res);
    held.push(res);
  });
  servers.push(server);
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const port = (server.address() as AddressInfo).port;
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on("error", reject);
    });
  const release = () => {
    for (const res of held.splice(0)) res.end("done");
  };
  return { get, release, held };
}

describe("ProbeResponder", () => {
  it("answers probes with the requests in flight and the latency they took at that RIF", async () => {
    const probes = new ProbeResponder();
    const { get, release, held } = await heldServer(probes);
    const answers = [get("/work"), get("/work"), get("/work")];
    while (held.length < 3) await new Promise((tick) => setTimeout(tick, 5));
    const busy = await get("/prequal-probe?from=test");
    expect(busy.status).toBe(200);
    expect(JSON.parse(busy.body)).toEqual({ rif: 3, latencyMs: 0 });
    await new Promise((wait) => setTimeout(wait, 30));
    release();
    await Promise.all(answers);
    const idle = JSON.parse((await get("/prequal-probe")).body) as { rif: number; latencyMs: number };
    expect(idle.rif).toBe(0);
    // The first request arrived with nothing in flight and was held for 30 ms or more.
    expect(idle.latencyMs).toBeGreaterThanOrEqual(29);
  });

  it("leaves other paths to the application, and answers on its own path", async () => {
    const probes = new ProbeResponder("/load");
    const { get, release, held } = await heldServer(probes);
    const other = get("/prequal-probe");
    while (held.length < 1) await new Promise((tick) => setTimeout(tick, 5));
    expect(probes.reply().rif).toBe(1);
    release();
    expect((await other).body).toBe("done");
    expect(JSON.parse((await get("/load")).body)).toMatchObject({ rif: 0 });
  });
});
