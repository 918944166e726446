/**
 * Differential tests of the HTTP/1.1 parser against node:http (llhttp, strict
 * options) as the oracle. The same bytes, followed by a pipelined request,
 * go to a node:http server on 127.0.0.1 and through our parseRequestHead +
 * ChunkedDecoder / Content-Length framing. Property: every message we accept,
 * node accepts and frames identically (method, target, header list, body,
 * trailers, end of message, seen through the next request); we may refuse
 * more than node. Run over fast-check generated messages and over a corpus of
 * CL.TE / TE.CL / TE.TE smuggling mutations: a framing disagreement with a
 * backend is a request-smuggling hole.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SMUGGLING_CORPUS } from "../../test/fixtures/smuggling-corpus.js";
import { rawRequest } from "../../test/helpers/http1-messages.js";
import { compareFraming, frameWithOurs, type Oracle, startOracle } from "../../test/helpers/http1-oracle.js";

const NEXT = "GET /next HTTP/1.1\r\nHost: next.example\r\n\r\n";

let oracle: Oracle;

beforeAll(async () => {
  oracle = await startOracle();
});

afterAll(async () => {
  await oracle.close();
});

/** Sends `text` + NEXT to node and to our framing; returns both and their comparison. */
async function differential(text: string) {
  const bytes = Buffer.from(text + NEXT, "latin1");
  const node = await oracle.send(bytes);
  const ours = frameWithOurs(bytes);
  return { node, ours, comparison: compareFraming(node, ours) };
}

describe("the oracle itself", () => {
  it("sees a message and the pipelined one after it, as we do", async () => {
    const { node, ours, comparison } = await differential(
      "POST /a?b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
    );
    expect(node.error).toBeUndefined();
    expect(node.requests.map((r) => [r.method, r.url, r.body.toString(), r.rawTrailers])).toEqual([
      ["POST", "/a?b", "abc", ["T", "v"]],
      ["GET", "/next", "", []],
    ]);
    expect(ours.messages.map((m) => [m.head.method, m.head.target, m.body.toString(), m.trailers])).toEqual([
      ["POST", "/a?b", "abc", ["T", "v"]],
      ["GET", "/next", "", []],
    ]);
    expect(comparison).toEqual({ problems: [], nodeAcceptedWeRejected: false, weCloseNodeReadsOn: false });
  });

  it("reports node's refusals: a parse error, and its own 400 for a missing Host", async () => {
    const bad = await differential("GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n");
    expect(bad.node.error).toBe("HPE_INVALID_HEADER_TOKEN");
    expect(bad.ours.error?.status).toBe(400);
    const hostless = await differential("GET / HTTP/1.1\r\n\r\n");
    expect(hostless.node.statuses[0]).toBe(400);
    expect(hostless.comparison.problems).toEqual([]);
  });

  it("flags a framing disagreement (a simulated TE.CL desync)", () => {
    const bytes = Buffer.from(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc${NEXT}`, "latin1");
    const ours = frameWithOurs(bytes);
    const node = {
      error: undefined,
      statuses: [200],
      requests: [
        {
          method: "POST",
          url: "/",
          rawHeaders: ["Host", "h", "Content-Length", "3"],
          body: Buffer.from("ab"),
          rawTrailers: [],
          complete: true,
        },
      ],
    };
    expect(compareFraming(node, ours).problems.length).toBeGreaterThan(0);
  });

  it("agrees on the head limits' edges (node allows a little more)", async () => {
    const base = "GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n";
    const at = (size: number) => base.replace("X: ", `X: ${"v".repeat(size - base.length)}`);
    expect((await differential(at(16_384))).ours.messages).toHaveLength(2);
    const over = await differential(at(16_385));
    expect(over.ours.error?.status).toBe(431);
    expect(over.comparison.problems).toEqual([]);
  });
});

describe("generated messages", () => {
  const tally = { both: 0, weRefuse: 0, bothRefuse: 0, weClose: 0 };

  it("frame identically whenever we accept (fast-check, 400 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(rawRequest, async (text) => {
        const { comparison, ours } = await differential(text);
        expect(comparison.problems, JSON.stringify(text)).toEqual([]);
        if (comparison.nodeAcceptedWeRejected) tally.weRefuse++;
        else if (comparison.weCloseNodeReadsOn) tally.weClose++;
        else if (ours.messages.length > 0) tally.both++;
        else tally.bothRefuse++;
      }),
      { numRuns: 400 },
    );
  });

  it("exercised both accepted and refused messages", () => {
    // A generator that only produced garbage would prove nothing.
    expect(tally.both).toBeGreaterThan(100);
    expect(tally.bothRefuse).toBeGreaterThan(50);
    expect(tally.weRefuse).toBeGreaterThan(10);
  });
});

describe("smuggling corpus", () => {
  it("holds at least 200 mutations", () => {
    expect(SMUGGLING_CORPUS.length).toBeGreaterThanOrEqual(200);
    expect(new Set(SMUGGLING_CORPUS.map((c) => c.name)).size).toBe(SMUGGLING_CORPUS.length);
  });

  it("every entry is refused by us, or accepted by node and framed identically", async () => {
    const failures: string[] = [];
    let accepted = 0;
    for (const { name, request } of SMUGGLING_CORPUS) {
      const { comparison, ours } = await differential(request);
      if (comparison.problems.length > 0) failures.push(`${name}: ${comparison.problems.join("; ")}`);
      if (ours.error === undefined) accepted++;
    }
    expect(failures).toEqual([]);
    // The plain spellings (control cases) are accepted; most mutations are not.
    expect(accepted).toBeGreaterThan(20);
    expect(accepted).toBeLessThan(SMUGGLING_CORPUS.length / 2);
  });

  it("never frames CL.TE or TE.CL: a message with both is always refused", () => {
    for (const { name, request } of SMUGGLING_CORPUS.filter((c) => /^(CL\.TE|TE\.CL) /.test(c.name))) {
      const ours = frameWithOurs(Buffer.from(request + NEXT, "latin1"));
      const framedBoth = ours.messages.some((m) => {
        const names = m.head.headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
        return names.includes("content-length") && names.includes("transfer-encoding");
      });
      expect(framedBoth, name).toBe(false);
    }
  });
});
