/**
 * The request-smuggling corpus (fixtures/smuggling-corpus.ts) through a real
 * HttpProxy: each case's raw bytes go on a fresh client connection, and what
 * the backend received is checked against node:http's framing of the same
 * client bytes. The backend is a raw TCP server that logs every byte and
 * relays it to an in-process node:http server (the oracle, parsing exactly
 * the logged bytes), which answers each request with a small fixed 200 so
 * upstream keep-alive goes on. Each case connects from its own loopback
 * address, so the X-Forwarded-For the proxy adds tells which case a backend
 * request belongs to; a request without it is one the proxy never framed.
 * Property: the backend sees exactly the requests the proxy accepted (same
 * count, methods, targets, body bytes as node frames in the client bytes),
 * and nothing of a message the proxy refused.
 */
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBalancer } from "../src/balancer/balancer.js";
import { HttpProxy } from "../src/proxy/http-proxy.js";
import { SMUGGLING_CORPUS } from "./fixtures/smuggling-corpus.js";
import {
  framedByNode,
  type NodeRequest,
  type Oracle,
  splitTarget,
  startOracle,
} from "./helpers/http1-oracle.js";
import { closeServer, LOCALHOST } from "./helpers/servers.js";

/** Cases sent at once. */
const BATCH = 32;
/** A client connection is done when nothing arrived for this long (the proxy keeps it alive; a loaded box answers slowly). */
const CLIENT_IDLE_MS = 1_000;
/** Longest a case may take, should the proxy keep sending. */
const CLIENT_MAX_MS = 5_000;

/** One request as the backend's node:http parsed it, with the bytes of its connection. */
interface BackendRequest extends NodeRequest {
  connectionBytes: Buffer[];
}

interface LoggingBackend {
  address: string;
  requests: BackendRequest[];
  close(): Promise<void>;
}

/**
 * A raw TCP backend: logs each connection's bytes and relays them to a
 * node:http server, which records every request it parses and answers it
 * with `200 ok` once its body has ended.
 */
async function startLoggingBackend(): Promise<LoggingBackend> {
  const requests: BackendRequest[] = [];
  /** Relay-side local port → that connection's logged bytes. */
  const logs = new Map<number, Buffer[]>();
  const answerer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    const request: BackendRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      rawTrailers: [],
      complete: false,
      connectionBytes: logs.get(req.socket.remotePort ?? -1) ?? [],
    };
    requests.push(request);
    const settle = () => {
      request.body = Buffer.concat(chunks);
      request.complete = req.complete;
    };
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("close", settle);
    req.on("end", () => {
      settle();
      res.writeHead(200, { "content-length": 2 }).end("ok");
    });
  });
  // Answer every Expect as a plain request: the proxy answers 100-continue itself.
  answerer.on("checkExpectation", (req, res) => answerer.emit("request", req, res));
  answerer.on("checkContinue", (req, res) => answerer.emit("request", req, res));
  await new Promise<void>((resolve) => answerer.listen(0, LOCALHOST, resolve));
  const answererPort = (answerer.address() as net.AddressInfo).port;

  const relays = new Set<net.Socket>();
  const relay = net.createServer((socket) => {
    const log: Buffer[] = [];
    const upstream = net.connect(answererPort, LOCALHOST);
    upstream.once("connect", () => logs.set(upstream.localPort ?? -1, log));
    socket.on("data", (chunk: Buffer) => log.push(chunk));
    socket.pipe(upstream).pipe(socket);
    for (const side of [socket, upstream]) {
      relays.add(side);
      side.on("error", () => undefined);
      side.once("close", () => {
        relays.delete(side);
        socket.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, LOCALHOST, resolve));
  return {
    address: `${LOCALHOST}:${(relay.address() as net.AddressInfo).port}`,
    requests,
    async close() {
      for (const socket of relays) socket.destroy();
      await Promise.all([closeServer(relay), closeServer(answerer)]);
    },
  };
}

/** One final response the client got; `coded` when the proxy answered it (x-switchyard-error). */
interface Answer {
  status: number;
  coded: boolean;
}

/** Sends `bytes` from `localAddress` and returns the final responses, once the proxy closes or goes quiet. */
function sendFrom(port: number, localAddress: string, bytes: Buffer): Promise<Answer[]> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOCALHOST, port, localAddress });
    const chunks: Buffer[] = [];
    let idle: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(idle);
      clearTimeout(cap);
      socket.destroy();
      resolve(parseAnswers(Buffer.concat(chunks).toString("latin1")));
    };
    const cap = setTimeout(done, CLIENT_MAX_MS);
    const quiet = () => {
      clearTimeout(idle);
      idle = setTimeout(done, CLIENT_IDLE_MS);
    };
    socket.on("connect", () => {
      socket.write(bytes);
      quiet();
    });
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      quiet();
    });
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", () => undefined);
  });
}

/** The final (non-1xx) responses in a raw response stream. */
function parseAnswers(text: string): Answer[] {
  const answers: Answer[] = [];
  for (const match of text.matchAll(/HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n/g)) {
    const status = Number(match[1]);
    if (status >= 200) answers.push({ status, coded: /^x-switchyard-error:/im.test(match[2] ?? "") });
  }
  return answers;
}

/** The loopback address case `index` connects from. */
function caseAddress(index: number): string {
  return `127.3.${Math.floor(index / 200)}.${(index % 200) + 1}`;
}

function forwardedFor(request: NodeRequest): string | undefined {
  const at = request.rawHeaders.findIndex(
    (name, i) => i % 2 === 0 && name.toLowerCase() === "x-forwarded-for",
  );
  return at < 0 ? undefined : request.rawHeaders[at + 1];
}

/** Why what the backend saw for one case is wrong, or undefined when it is right. */
function checkCase(answers: Answer[], seen: BackendRequest[], node: NodeRequest[]): string | undefined {
  // The proxy's verdict, message by message: forwarded (the backend's 200) until a coded refusal.
  const forwarded = answers.findIndex((answer) => answer.coded || answer.status !== 200);
  const accepted = forwarded < 0 ? answers.length : forwarded;
  if (accepted > node.length) return `the proxy forwarded ${accepted} messages, node frames ${node.length}`;
  if (seen.length !== accepted) {
    return `the client got ${accepted} backend answers (${JSON.stringify(answers)}), the backend saw ${seen.length} requests`;
  }
  for (const [i, request] of seen.entries()) {
    const expected = node[i] as NodeRequest;
    const path = splitTarget(expected.url).path;
    if (!request.complete) return `request ${i} reached the backend unfinished`;
    if (request.method !== expected.method || request.url !== path) {
      return `request ${i}: the backend saw ${request.method} ${request.url}, node frames ${expected.method} ${expected.url}`;
    }
    if (!request.body.equals(expected.body)) {
      return `request ${i}: body ${JSON.stringify(request.body.toString("latin1"))} vs node's ${JSON.stringify(expected.body.toString("latin1"))}`;
    }
  }
  return undefined;
}

let backend: LoggingBackend;
let oracle: Oracle;
let proxy: HttpProxy;
let port: number;

beforeAll(async () => {
  [backend, oracle] = await Promise.all([startLoggingBackend(), startOracle()]);
  proxy = new HttpProxy({
    balancer: createBalancer({ backends: [{ address: backend.address }] }),
    // A failed upstream must show up, not be hidden by a retry on the same backend.
    maxRetries: 0,
  });
  ({ port } = await proxy.listen());
});

afterAll(async () => {
  await proxy.close(200);
  await Promise.all([backend.close(), oracle.close()]);
});

describe("the smuggling corpus through the proxy", () => {
  it("the backend sees exactly the requests the proxy accepted, as node frames them", async () => {
    const failures: string[] = [];
    const tally = { forwarded: 0, refused: 0 };
    for (let start = 0; start < SMUGGLING_CORPUS.length; start += BATCH) {
      const batch = SMUGGLING_CORPUS.slice(start, start + BATCH).map((entry, offset) => ({
        ...entry,
        address: caseAddress(start + offset),
      }));
      const results = await Promise.all(
        batch.map(async (entry) => {
          const bytes = Buffer.from(entry.request, "latin1");
          const [answers, node] = await Promise.all([
            sendFrom(port, entry.address, bytes),
            oracle.send(bytes),
          ]);
          return { entry, answers, node: framedByNode(node) };
        }),
      );
      for (const { entry, answers, node } of results) {
        const seen = backend.requests.filter((request) => forwardedFor(request) === entry.address);
        const problem = checkCase(answers, seen, node);
        if (problem !== undefined) failures.push(`${entry.name}: ${problem}`);
        if (seen.length > 0) tally.forwarded++;
        else tally.refused++;
      }
    }
    const stray = backend.requests.filter((request) => forwardedFor(request) === undefined);
    expect(failures).toEqual([]);
    expect(
      stray.map((request) => ({
        request: `${request.method} ${request.url}`,
        connection: Buffer.concat(request.connectionBytes).toString("latin1"),
      })),
      "requests the proxy never framed",
    ).toEqual([]);
    // The plain spellings get through; most mutations are refused.
    expect(tally.forwarded).toBeGreaterThan(20);
    expect(tally.refused).toBeGreaterThan(SMUGGLING_CORPUS.length / 2);
  });
});

describe("the check itself", () => {
  const request = (method: string, url: string, body: string, complete = true): BackendRequest => ({
    method,
    url,
    rawHeaders: [],
    body: Buffer.from(body, "latin1"),
    rawTrailers: [],
    complete,
    connectionBytes: [],
  });
  const ok: Answer = { status: 200, coded: false };
  const refused: Answer = { status: 400, coded: true };

  it("passes the backend seeing what node frames, an absolute-form target in origin form", () => {
    const node = [request("POST", "http://a/x", "hello"), request("GET", "/smuggled", "")];
    const seen = [request("POST", "/x", "hello"), request("GET", "/smuggled", "")];
    expect(checkCase([ok, ok], seen, node)).toBeUndefined();
  });

  it("flags a desync: a body framed differently, or a request the client never sent", () => {
    const node = [request("POST", "/", "0\r\n\r\nGET /smuggled")];
    expect(checkCase([ok], [request("POST", "/", "")], node)).toMatch(/body/);
    expect(checkCase([ok, ok], [request("POST", "/", ""), request("GET", "/smuggled", "")], node)).toMatch(
      /forwarded 2 messages, node frames 1/,
    );
  });

  it("flags a refused message that reached the backend, even unfinished", () => {
    expect(checkCase([refused], [request("POST", "/", "", false)], [request("POST", "/", "")])).toMatch(
      /backend saw 1/,
    );
    expect(checkCase([ok], [request("POST", "/", "", false)], [request("POST", "/", "")])).toMatch(
      /unfinished/,
    );
  });
});
