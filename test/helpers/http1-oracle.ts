/**
 * node:http as an oracle for the HTTP/1.1 head parser's differential tests:
 * a node:http server with its default strict options records, per
 * connection, every request its parser produced (method, url, raw headers,
 * body bytes, raw trailers, whether the body was complete) and the
 * `clientError` it raised, if any; `send` writes raw bytes on a fresh
 * connection, half-closes it and waits until node is done with it, so every
 * case ends without a timeout. `frameWithOurs` runs our parser and chunked
 * decoder over the same bytes, pipelined messages included, so the two
 * framings can be compared message by message.
 */
import http from "node:http";
import net from "node:net";
import { ChunkedDecoder, CLIENT_CHUNK_LIMITS } from "../../src/http1/chunked-decoder.js";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  parseRequestHead,
  type RequestHead,
} from "../../src/http1/head-parser.js";
import { HttpParseError } from "../../src/http1/parse-error.js";

/** One request as node:http's server saw it. */
export interface NodeRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
  rawTrailers: string[];
  /** The body was read to its end (`req.complete`). */
  complete: boolean;
}

/** What node:http made of one connection's bytes. */
export interface NodeOutcome {
  requests: NodeRequest[];
  /** The `clientError` code (e.g. HPE_INVALID_HEADER_TOKEN), when one was raised. */
  error: string | undefined;
  /** Status codes of the responses node wrote, in order (1xx included). */
  statuses: number[];
}

interface ConnectionRecord {
  requests: NodeRequest[];
  error: string | undefined;
  closed: Promise<void>;
}

export interface Oracle {
  port: number;
  /** Sends `bytes` on a new connection, ends it, and returns what node:http made of them. */
  send(bytes: Buffer): Promise<NodeOutcome>;
  close(): Promise<void>;
}

/** Starts the oracle server on 127.0.0.1 (OS-chosen port). */
export async function startOracle(): Promise<Oracle> {
  const records = new Map<number, ConnectionRecord>();
  const waiting = new Map<number, (record: ConnectionRecord) => void>();
  const sockets = new Set<net.Socket>();
  const server = http.createServer({ insecureHTTPParser: false }, (req, res) => {
    const record = records.get(req.socket.remotePort ?? -1);
    const request: NodeRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      rawTrailers: [],
      complete: false,
    };
    record?.requests.push(request);
    const chunks: Buffer[] = [];
    const settle = () => {
      request.body = Buffer.concat(chunks);
      request.complete = req.complete;
      request.rawTrailers = req.rawTrailers;
    };
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      request.body = Buffer.concat(chunks);
    });
    req.on("end", () => {
      settle();
      res.end("ok");
    });
    req.on("close", settle);
    req.on("error", settle);
  });
  // Expect values other than 100-continue would get an automatic 417.
  server.on("checkExpectation", (req, res) => server.emit("request", req, res));
  server.on("clientError", (error: NodeJS.ErrnoException, socket: net.Socket) => {
    const record = records.get(socket.remotePort ?? -1);
    if (record !== undefined && record.error === undefined) record.error = error.code ?? error.message;
    socket.destroy();
  });
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    const port = socket.remotePort ?? -1;
    const record: ConnectionRecord = {
      requests: [],
      error: undefined,
      closed: new Promise((resolve) => socket.once("close", () => resolve())),
    };
    records.set(port, record);
    socket.once("close", () => sockets.delete(socket));
    waiting.get(port)?.(record);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  const recordFor = (localPort: number) =>
    new Promise<ConnectionRecord>((resolve) => {
      const record = records.get(localPort);
      if (record !== undefined) resolve(record);
      else waiting.set(localPort, resolve);
    });

  return {
    port,
    async send(bytes: Buffer): Promise<NodeOutcome> {
      const client = net.connect(port, "127.0.0.1");
      const received: Buffer[] = [];
      client.on("data", (chunk: Buffer) => received.push(chunk));
      const clientClosed = new Promise<void>((resolve) => client.once("close", () => resolve()));
      client.on("error", () => {});
      await new Promise<void>((resolve) => client.once("connect", () => resolve()));
      const localPort = client.localPort ?? -1;
      const record = await recordFor(localPort);
      client.end(bytes);
      await Promise.all([record.closed, clientClosed]);
      records.delete(localPort);
      waiting.delete(localPort);
      const responses = Buffer.concat(received).toString("latin1");
      const statuses = [...responses.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      return { requests: record.requests, error: record.error, statuses };
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One message as our parser framed it. */
export interface OurMessage {
  head: RequestHead;
  body: Buffer;
  trailers: string[];
}

/** What our parser made of a connection's bytes, read up to their end. */
export interface OurOutcome {
  messages: OurMessage[];
  /** The parse error that stopped framing, if any. */
  error: HttpParseError | undefined;
  /** The bytes ran out inside a message (a head or a body not finished). */
  incomplete: boolean;
  /** Framing stopped after a message that closes or upgrades the connection. */
  stopped?: "close" | "upgrade";
}

/**
 * Frames every message in `bytes` with parseRequestHead + ChunkedDecoder /
 * Content-Length, as the proxy will; stops after a message that does not
 * keep the connection alive (what follows it is never read).
 */
export function frameWithOurs(bytes: Buffer): OurOutcome {
  const messages: OurMessage[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    let head: RequestHead | undefined;
    try {
      head = parseRequestHead(bytes, offset);
    } catch (error) {
      if (error instanceof HttpParseError) return { messages, error, incomplete: false };
      throw error;
    }
    if (head === undefined) return { messages, error: undefined, incomplete: true };
    offset += head.size;
    let body: Buffer = Buffer.alloc(0);
    let trailers: string[] = [];
    if (head.bodyKind === BODY_LENGTH) {
      if (offset + head.contentLength > bytes.length) return { messages, error: undefined, incomplete: true };
      body = bytes.subarray(offset, offset + head.contentLength);
      offset += head.contentLength;
    } else if (head.bodyKind === BODY_CHUNKED) {
      const decoder = new ChunkedDecoder(CLIENT_CHUNK_LIMITS);
      const chunks: Buffer[] = [];
      try {
        offset = decoder.decode(bytes, offset, { onBodyData: (data) => chunks.push(Buffer.from(data)) });
      } catch (error) {
        if (error instanceof HttpParseError) return { messages, error, incomplete: false };
        throw error;
      }
      if (!decoder.done) return { messages, error: undefined, incomplete: true };
      body = Buffer.concat(chunks);
      trailers = decoder.trailers ?? [];
    } else if (head.bodyKind !== BODY_NONE) {
      throw new Error(`a request cannot have body kind ${head.bodyKind}`);
    }
    messages.push({ head, body, trailers });
    // The proxy reads nothing more after a closing message, nor after an upgrade (it tunnels).
    if (head.upgrade) return { messages, error: undefined, incomplete: false, stopped: "upgrade" };
    if (!head.keepAlive) return { messages, error: undefined, incomplete: false, stopped: "close" };
  }
  return { messages, error: undefined, incomplete: false };
}

/** How the two framings of one byte stream relate. */
export interface Comparison {
  /** Empty when every message we accepted node framed identically and node framed no message we did not. */
  problems: string[];
  /** Node accepted (framed completely) a message we refused: a deliberate strictness to list. */
  nodeAcceptedWeRejected: boolean;
  /**
   * We took a message to close the connection and node read on (HTTP/1.0 with
   * `Connection: keep-alive, close`: RFC 9112 §9.3 says close wins, llhttp
   * keeps alive). The safe direction: we read less, never more.
   */
  weCloseNodeReadsOn: boolean;
}

/**
 * Compares node's framing with ours, message by message: every message we
 * accept, node must frame the same (method, target, header list, body,
 * trailers), and where our framing ends (the bytes ran out, the connection
 * closes or upgrades) node's must end too.
 */
export function compareFraming(node: NodeOutcome, ours: OurOutcome): Comparison {
  const problems: string[] = [];
  const framed = framedByNode(node);
  ours.messages.forEach((message, i) => {
    const theirs = framed[i];
    if (theirs === undefined) {
      problems.push(`we accepted message ${i}, node did not (${node.error ?? `statuses ${node.statuses}`})`);
      return;
    }
    const mismatch = messageMismatch(theirs, message);
    if (mismatch !== undefined) problems.push(`message ${i}: ${mismatch}`);
  });
  const nodeAcceptedWeRejected = ours.error !== undefined && framed.length > ours.messages.length;
  const weCloseNodeReadsOn = ours.stopped === "close" && node.requests.length > ours.messages.length;
  if (ours.error === undefined && !weCloseNodeReadsOn) {
    if (framed.length > ours.messages.length) {
      problems.push(
        ours.incomplete
          ? `node framed message ${ours.messages.length} completely, we still wait for its bytes`
          : `node framed ${framed.length} messages, we framed ${ours.messages.length}`,
      );
    }
    if (ours.stopped === "upgrade" && node.requests.length > ours.messages.length) {
      problems.push("node read a message after the one we took to upgrade the connection");
    }
    if (!ours.stopped && !ours.incomplete && node.error !== undefined) {
      problems.push(`we framed every byte, node raised ${node.error}`);
    }
  }
  return { problems, nodeAcceptedWeRejected, weCloseNodeReadsOn };
}

/** The requests node framed completely, up to its first refusal or unfinished body. */
export function framedByNode(node: NodeOutcome): NodeRequest[] {
  // Node answers a missing Host with its own 400 instead of a request event.
  const refusedAt = node.statuses.filter((status) => status >= 200).indexOf(400);
  const framed = refusedAt >= 0 ? node.requests.slice(0, refusedAt) : node.requests;
  const firstIncomplete = framed.findIndex((request) => !request.complete);
  return firstIncomplete >= 0 ? framed.slice(0, firstIncomplete) : framed;
}

function messageMismatch(theirs: NodeRequest, ours: OurMessage): string | undefined {
  const head = ours.head;
  if (theirs.method !== head.method) return `method ${theirs.method} vs ${head.method}`;
  const { authority, path } = splitTarget(theirs.url);
  if (authority !== undefined) {
    if (authority !== head.host || path !== head.target) {
      return `absolute target ${theirs.url} vs host ${head.host} target ${head.target}`;
    }
  } else if (theirs.url !== head.target) {
    return `target ${JSON.stringify(theirs.url)} vs ${JSON.stringify(head.target)}`;
  }
  if (JSON.stringify(theirs.rawHeaders) !== JSON.stringify(head.headers)) {
    return `headers ${JSON.stringify(theirs.rawHeaders)} vs ${JSON.stringify(head.headers)}`;
  }
  if (!theirs.body.equals(ours.body)) {
    return `body ${JSON.stringify(theirs.body.toString("latin1"))} vs ${JSON.stringify(ours.body.toString("latin1"))}`;
  }
  if (JSON.stringify(theirs.rawTrailers) !== JSON.stringify(ours.trailers)) {
    return `trailers ${JSON.stringify(theirs.rawTrailers)} vs ${JSON.stringify(ours.trailers)}`;
  }
  return undefined;
}

/**
 * A request target as node reports it, split the way a proxy forwards it: an
 * absolute-form target (`http://a/x`) becomes its authority and origin-form
 * path; any other target is the path, authority undefined.
 */
export function splitTarget(url: string): { authority: string | undefined; path: string } {
  const absolute = /^https?:\/\//i.exec(url);
  if (absolute === null) return { authority: undefined, path: url };
  const rest = url.slice(absolute[0].length);
  const pathAt = rest.search(/[/?#]/);
  const authority = pathAt < 0 ? rest : rest.slice(0, pathAt);
  const path = pathAt < 0 ? "/" : rest[pathAt] === "/" ? rest.slice(pathAt) : `/${rest.slice(pathAt)}`;
  return { authority, path };
}
