/**
 * Small helpers for integration tests: real HTTP servers on 127.0.0.1 with
 * OS-chosen ports, a port known to refuse connections, and clients that
 * return everything a test may assert on (status, raw headers, trailers,
 * body). Every server is closed with `close()`, which also drops kept-alive
 * and in-flight connections so tests never hang on cleanup.
 */
import http from "node:http";
import net from "node:net";

export const LOCALHOST = "127.0.0.1";

export interface TestServer {
  server: http.Server;
  port: number;
  /** `127.0.0.1:port`, the form backend specs take. */
  address: string;
  /** `http://127.0.0.1:port` */
  origin: string;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Starts a node:http server with `handler` on 127.0.0.1, port chosen by the OS. */
export async function startServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  options: http.ServerOptions = {},
): Promise<TestServer> {
  let requests = 0;
  const server = http.createServer(options, (req, res) => {
    requests++;
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOCALHOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    address: `${LOCALHOST}:${port}`,
    origin: `http://${LOCALHOST}:${port}`,
    get requests() {
      return requests;
    },
    close: () => closeServer(server),
  };
}

/** What the echo server saw, returned as its JSON body. */
export interface EchoReply {
  name: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/**
 * An echo server: reads the whole request and answers 200 with JSON
 * describing it (name, method, url, headers, rawHeaders, body) and an
 * `x-backend: name` header.
 */
export function startEchoServer(name = "echo"): Promise<TestServer> {
  return startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const reply: EchoReply = {
        name,
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const body = JSON.stringify(reply);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "x-backend": name,
      });
      res.end(body);
    });
  });
}

/** A port on 127.0.0.1 where nothing listens (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Closes a server and every connection it holds. */
export function closeServer(server: http.Server | net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    if (server instanceof http.Server) server.closeAllConnections();
  });
}

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  trailers: NodeJS.Dict<string>;
  body: Buffer;
  text: string;
}

export interface TestRequestOptions {
  port: number;
  host?: string;
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders | string[];
  /** Sent in one piece, or streamed from an iterable of chunks. */
  body?: string | Buffer | Iterable<Buffer>;
  /** Abort after this long; default 10 s, so a test never hangs on a lost answer. */
  timeoutMs?: number;
  agent?: http.Agent | false;
}

/** One HTTP request on a fresh connection (unless an agent is given); resolves with the whole response. */
export function request(options: TestRequestOptions): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.host ?? LOCALHOST,
        port: options.port,
        method: options.method ?? "GET",
        path: options.path ?? "/",
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            trailers: res.trailers,
            body,
            text: body.toString("utf8"),
          });
        });
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error("test request timed out")));
    req.on("error", reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else {
      const iterator = body[Symbol.iterator]();
      const pump = (): void => {
        for (;;) {
          const next = iterator.next();
          if (next.done) {
            req.end();
            return;
          }
          if (!req.write(next.value)) {
            req.once("drain", pump);
            return;
          }
        }
      };
      pump();
    }
  });
}

/**
 * Writes raw bytes to host:port and collects what comes back until the peer
 * closes or `timeoutMs` passes (default 5 s).
 */
export function rawRequest(port: number, data: string | Buffer, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: LOCALHOST, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("connect", () => socket.write(data));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      if (chunks.length === 0) {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
  });
}

/** Polls `check` every 10 ms until it returns true or `timeoutMs` passes (default 5 s). */
export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
