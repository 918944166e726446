import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { reusePortAvailable } from "../src/core/accept-sockets.js";
import {
  encodeProxyHeader,
  type ProxyProtocolVersion,
  readProxyHeader,
} from "../src/proxy/proxy-protocol.js";
import { TcpProxy, type TcpProxyOptions } from "../src/proxy/tcp-proxy.js";
import { listeningSocketsOn } from "./helpers/listening-sockets.js";

const HOST = "127.0.0.1";

const servers: net.Server[] = [];
const serverSockets = new Set<net.Socket>();
const clients = new Set<net.Socket>();
const proxies: TcpProxy[] = [];

afterEach(async () => {
  for (const client of clients) client.destroy();
  clients.clear();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close(0)));
  for (const socket of serverSockets) socket.destroy();
  serverSockets.clear();
  await Promise.all(
    servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

/** A backend on an OS-chosen port; `handler` gets each accepted socket. */
async function startBackend(handler: (socket: net.Socket) => void): Promise<string> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    serverSockets.add(socket);
    socket.on("close", () => serverSockets.delete(socket));
    socket.on("error", () => {});
    handler(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return `${HOST}:${(server.address() as net.AddressInfo).port}`;
}

const echo = (socket: net.Socket) => socket.pipe(socket);

/** An address nothing listens on: bind port 0, read it, release it. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `${HOST}:${port}`;
}

async function startProxy(
  balancer: Balancer,
  options: Partial<TcpProxyOptions> = {},
): Promise<{ proxy: TcpProxy; port: number }> {
  const proxy = new TcpProxy({ balancer, ...options });
  proxies.push(proxy);
  const { port } = await proxy.listen();
  return { proxy, port };
}

function connect(port: number): net.Socket {
  const socket = net.connect({ host: HOST, port });
  socket.on("error", () => {});
  clients.add(socket);
  return socket;
}

/** Everything the socket receives until it closes, plus whether the peer sent FIN. */
function collect(socket: net.Socket): Promise<{ data: string; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => {
      ended = true;
    });
    socket.on("close", () => resolve({ data: Buffer.concat(chunks).toString(), ended }));
  });
}

/** Reads until `expected` bytes arrived. */
function readBytes(socket: net.Socket, expected: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.length >= expected) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error(`closed after ${text.length} of ${expected} bytes`)));
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("TcpProxy", () => {
  it("echoes through the proxy, including bytes sent before the upstream connects", async () => {
    const balancer = createBalancer({ backends: [{ id: "echo", address: await startBackend(echo) }] });
    const { port } = await startProxy(balancer);
    const client = connect(port);
    const received = collect(client);
    // Written at once: the proxy must hold these bytes until its upstream is connected.
    client.write("hello ");
    client.write("world");
    expect(await readBytes(client, 11)).toBe("hello world");
    const big = "x".repeat(1024 * 1024);
    client.end(big);
    const { data, ended } = await received;
    expect(ended).toBe(true);
    expect(data.length).toBe(11 + big.length);
  });

  it("accepts on acceptSockets sockets sharing the port, and tunnels the connections of each", async () => {
    const backend = await startBackend(echo);
    const { proxy, port } = await startProxy(createBalancer({ backends: [{ address: backend }] }), {
      acceptSockets: 4,
    });
    const wanted = reusePortAvailable() ? 4 : 1;
    expect(listeningSocketsOn(port) ?? wanted).toBe(wanted);
    const echoes = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const socket = connect(port);
        socket.end(`hello ${i}`);
        const chunks: Buffer[] = [];
        for await (const chunk of socket) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString();
      }),
    );
    expect(echoes).toEqual(Array.from({ length: 24 }, (_, i) => `hello ${i}`));
    await proxy.close(0);
    expect(listeningSocketsOn(port) ?? 0).toBe(0);
  });

  it("round-robins connections across two backends", async () => {
    const balancer = createBalancer({
      backends: [
        { id: "a", address: await startBackend((socket) => socket.end("a")) },
        { id: "b", address: await startBackend((socket) => socket.end("b")) },
      ],
    });
    const { port } = await startProxy(balancer);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await collect(connect(port))).data);
    expect(seen).toEqual(["a", "b", "a", "b"]);
  });

  it("forwards half-close: the client ends its write side and still gets the reply", async () => {
    const address = await startBackend((socket) => {
      let request = "";
      socket.on("data", (chunk: Buffer) => {
        request += chunk.toString();
      });
      socket.on("end", () => {
        setTimeout(() => socket.end(`pong:${request}`), 50);
      });
    });
    const { port } = await startProxy(createBalancer({ backends: [{ address }] }));
    const client = connect(port);
    const received = collect(client);
    client.end("ping");
    expect(await received).toEqual({ data: "pong:ping", ended: true });
  });

  it("relays distinct streams on many tunnels at once, every byte intact both ways", async () => {
    // The tunnels' sockets all read into one shared buffer: a byte from one must never reach
    // another, not even while a backend reads slowly and the writes to it wait in the proxy.
    const slowEcho = (socket: net.Socket): void => {
      socket.pause();
      setTimeout(() => echo(socket), 300);
    };
    const { port } = await startProxy(
      createBalancer({ backends: [{ address: await startBackend(slowEcho) }] }),
    );
    const sent = Array.from({ length: 4 }, () => randomBytes(16 * 1024 * 1024));
    const echoed = await Promise.all(
      sent.map(
        (data) =>
          new Promise<Buffer>((resolve) => {
            const client = connect(port);
            const chunks: Buffer[] = [];
            client.on("data", (chunk: Buffer) => chunks.push(chunk));
            client.on("close", () => resolve(Buffer.concat(chunks)));
            client.end(data);
          }),
      ),
    );
    for (const [i, data] of sent.entries()) expect((echoed[i] as Buffer).equals(data)).toBe(true);
  });

  it("stops reading the backend while the client does not read, and loses nothing", async () => {
    const total = 64 * 1024 * 1024;
    const chunk = randomBytes(64 * 1024);
    let written = 0;
    const address = await startBackend((socket) => {
      const more = (): void => {
        while (written < total) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            socket.once("drain", more);
            return;
          }
        }
        socket.end();
      };
      more();
    });
    const { port } = await startProxy(createBalancer({ backends: [{ address }] }));
    const client = connect(port);
    client.pause();
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Held back by the kernel buffers on both legs, not read into the proxy's memory.
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(40 * 1024 * 1024);
    const ended = new Promise((resolve) => client.once("end", resolve));
    client.resume();
    await ended;
    expect(client.bytesRead).toBe(total);
  });

  it("moves to the next candidate when a backend refuses the connection", async () => {
    const balancer = createBalancer({
      backends: [
        { id: "dead", address: await deadAddress() },
        { id: "live", address: await startBackend(echo) },
      ],
    });
    const { port } = await startProxy(balancer);
    for (let i = 0; i < 2; i++) {
      const client = connect(port);
      const received = collect(client);
      client.end(`try ${i}`);
      expect((await received).data).toBe(`try ${i}`);
    }
    const dead = balancer.pool.require("dead");
    expect(dead.errors).toBeGreaterThanOrEqual(1);
    expect(dead.inFlight).toBe(0);
    expect(balancer.stats().failovers).toBeGreaterThanOrEqual(1);
    await waitFor(() => balancer.pool.require("live").requests === 2);
  });

  it("stops after maxRetries failed connects, as HTTP does, though a later candidate is alive", async () => {
    const balancer = createBalancer({
      algorithm: "round-robin",
      backends: [
        { id: "dead-1", address: await deadAddress() },
        { id: "dead-2", address: await deadAddress() },
        { id: "live", address: await startBackend(echo) },
      ],
    });
    const { proxy, port } = await startProxy(balancer, { maxRetries: 1, retryBudget: false });
    const client = connect(port);
    const received = collect(client);
    client.write("anyone?");
    expect((await received).data).toBe("");
    expect(balancer.stats().errors).toBe(2);
    expect(balancer.pool.require("live").requests).toBe(0);
    expect(proxy.attemptPolicy.retries).toBe(1);
  });

  it("holds failovers to the retry budget", async () => {
    const balancer = createBalancer({
      algorithm: "round-robin",
      backends: [
        { id: "dead", address: await deadAddress() },
        { id: "live", address: await startBackend(echo) },
      ],
    });
    // No reserve and no share: the budget never has room.
    const { proxy, port } = await startProxy(balancer, {
      retryBudget: { ratio: 0, minRetriesPerSecond: 0 },
    });
    const client = connect(port);
    const received = collect(client);
    client.write("anyone?");
    expect((await received).data).toBe("");
    expect(proxy.attemptPolicy.budgetRefusals).toBe(1);
    expect(proxy.attemptPolicy.retries).toBe(0);
  });

  it("closes the client when every backend is dead, and when the pool is empty", async () => {
    const balancer = createBalancer({
      backends: [{ address: await deadAddress() }, { address: await deadAddress() }],
    });
    const { port } = await startProxy(balancer);
    const client = connect(port);
    const received = collect(client);
    client.write("anyone?");
    expect((await received).data).toBe("");
    const stats = balancer.stats();
    expect(stats.errors).toBe(2);
    expect(stats.inFlight).toBe(0);

    const empty = await startProxy(createBalancer());
    expect((await collect(connect(empty.port))).data).toBe("");
  });

  it("closes an idle tunnel after idleTimeoutMs", async () => {
    const balancer = createBalancer({ backends: [{ id: "echo", address: await startBackend(echo) }] });
    const { port } = await startProxy(balancer, { idleTimeoutMs: 150 });
    const client = connect(port);
    const received = collect(client);
    client.write("once");
    expect(await readBytes(client, 4)).toBe("once");
    const quietSince = Date.now();
    await received;
    expect(Date.now() - quietSince).toBeGreaterThanOrEqual(100);
    const backend = balancer.pool.require("echo");
    await waitFor(() => backend.active === 0 && backend.inFlight === 0);
    expect(backend.errors).toBe(0);
  });

  it("keeps a tunnel open past idleTimeoutMs while bytes move either way", async () => {
    // For 300 ms only the backend talks (every 50 ms, unasked); then only the client does.
    let heard = "";
    const ticker = (socket: net.Socket) => {
      let ticks = 0;
      const timer = setInterval(() => {
        if (++ticks <= 6) socket.write("t");
        else clearInterval(timer);
      }, 50);
      socket.on("data", (data) => {
        heard += data.toString();
      });
      socket.on("close", () => clearInterval(timer));
    };
    const balancer = createBalancer({ backends: [{ id: "ticker", address: await startBackend(ticker) }] });
    const { port } = await startProxy(balancer, { idleTimeoutMs: 150 });
    const client = connect(port);
    const received = collect(client);
    client.write("c");
    await new Promise((resolve) => setTimeout(resolve, 350));
    for (let i = 0; i < 6; i++) {
      client.write("c");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // 650 ms, each way in turn, without a gap of 150 ms: still open. Then, quiet, it closes.
    expect(client.destroyed).toBe(false);
    expect((await received).data).toBe("tttttt");
    expect(heard).toBe("ccccccc");
  });

  it("counts open tunnels per backend in `active` and returns it to 0", async () => {
    const balancer = createBalancer({ backends: [{ id: "echo", address: await startBackend(echo) }] });
    const { proxy, port } = await startProxy(balancer);
    const backend = balancer.pool.require("echo");
    const first = connect(port);
    const second = connect(port);
    first.write("1");
    second.write("2");
    await Promise.all([readBytes(first, 1), readBytes(second, 1)]);
    expect(backend.active).toBe(2);
    expect(backend.inFlight).toBe(2);
    expect(proxy.connections).toBe(2);
    first.end();
    second.end();
    await waitFor(() => backend.active === 0 && backend.inFlight === 0 && proxy.connections === 0);
    expect(backend.requests).toBe(2);
    expect(backend.errors).toBe(0);
  });

  it("survives an upstream reset and reports it as a failed attempt", async () => {
    const balancer = createBalancer({
      backends: [
        {
          id: "resetter",
          address: await startBackend((socket) => socket.once("data", () => socket.resetAndDestroy())),
        },
      ],
    });
    const { proxy, port } = await startProxy(balancer);
    const client = connect(port);
    const received = collect(client);
    client.write("boom");
    await received;
    const backend = balancer.pool.require("resetter");
    await waitFor(() => backend.errors === 1 && backend.active === 0 && proxy.connections === 0);
    // Still serving.
    const again = connect(port);
    const closed = collect(again);
    again.write("again");
    await closed;
    await waitFor(() => backend.errors === 2);
  });

  it("closes gracefully: refuses new connections and lets open tunnels finish", async () => {
    const balancer = createBalancer({ backends: [{ id: "echo", address: await startBackend(echo) }] });
    const { proxy, port } = await startProxy(balancer);
    const client = connect(port);
    const received = collect(client);
    client.write("before");
    await readBytes(client, 6);

    let closed = false;
    const closing = proxy.close(5000).then(() => {
      closed = true;
    });
    const refused = await new Promise<string | undefined>((resolve) => {
      const late = net.connect({ host: HOST, port });
      late.on("error", (error: NodeJS.ErrnoException) => resolve(error.code));
      late.on("connect", () => {
        late.destroy();
        resolve(undefined);
      });
    });
    expect(refused).toBe("ECONNREFUSED");

    client.write("during");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    client.end();
    await closing;
    expect((await received).data).toBe("beforeduring");
    expect(balancer.pool.require("echo").active).toBe(0);
  });

  it("destroys tunnels still open when the grace period ends", async () => {
    const balancer = createBalancer({ backends: [{ id: "echo", address: await startBackend(echo) }] });
    const { proxy, port } = await startProxy(balancer);
    const client = connect(port);
    const received = collect(client);
    client.write("stay");
    await readBytes(client, 4);
    const started = Date.now();
    await proxy.close(100);
    expect(Date.now() - started).toBeLessThan(3000);
    await received;
    expect(client.destroyed).toBe(true);
    const backend = balancer.pool.require("echo");
    expect(backend.active).toBe(0);
    expect(backend.inFlight).toBe(0);
  });
});

describe("TcpProxy tunnels of a departing backend", () => {
  it("keeps tunnels to a draining backend open for drainTimeoutMs, then closes them", async () => {
    const balancer = createBalancer({ backends: [{ id: "echo", address: await startBackend(echo) }] });
    const { proxy, port } = await startProxy(balancer, { drainTimeoutMs: 300 });
    const backend = balancer.pool.require("echo");
    const client = connect(port);
    const received = collect(client);
    client.write("a");
    await readBytes(client, 1);
    expect(proxy.byBackend.count(backend)).toBe(1);

    const drainedAt = Date.now();
    balancer.pool.setState("echo", "draining");
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.write("b");
    await waitFor(() => backend.active === 1);
    await received;
    const elapsed = Date.now() - drainedAt;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    expect((await received).data).toBe("ab");
    await waitFor(() => backend.active === 0 && backend.inFlight === 0 && proxy.connections === 0);
    expect(proxy.byBackend.count(backend)).toBe(0);
  });

  it("closes a removed backend's tunnels once pool.remove's drain wait is over, others stay", async () => {
    const balancer = createBalancer({
      backends: [
        { id: "leaving", address: await startBackend(echo) },
        { id: "staying", address: await startBackend(echo) },
      ],
    });
    const { proxy, port } = await startProxy(balancer, { drainTimeoutMs: 60_000 });
    // One after the other: round-robin gives the first to "leaving" (connections made at once
    // may be accepted in either order, by different listening sockets).
    const first = connect(port);
    const firstDone = collect(first);
    first.write("1");
    await readBytes(first, 1);
    const second = connect(port);
    second.write("2");
    await readBytes(second, 1);

    const started = Date.now();
    await balancer.pool.remove("leaving", { drain: true, drainTimeoutMs: 250 });
    await firstDone;
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    const leaving = balancer.pool.backends.find((backend) => backend.id === "leaving");
    expect(leaving).toBeUndefined();

    // The other tunnel keeps echoing; a removal without drain closes it at once.
    second.write("3");
    expect(await readBytes(second, 1)).toBe("3");
    const secondDone = collect(second);
    const removedAt = Date.now();
    await balancer.pool.remove("staying");
    await secondDone;
    expect(Date.now() - removedAt).toBeLessThan(1_000);
    await waitFor(() => proxy.connections === 0);
  });
});

describe("TcpProxy and the PROXY protocol", () => {
  /** A backend that keeps every byte it is sent, per connection, and answers "ok" once "hello" came. */
  async function recordingBackend(): Promise<{ address: string; received: Buffer[] }> {
    const received: Buffer[] = [];
    const address = await startBackend((socket) => {
      const at = received.push(Buffer.alloc(0)) - 1;
      socket.on("data", (chunk: Buffer) => {
        received[at] = Buffer.concat([received[at] as Buffer, chunk]);
        if (received[at]?.toString("latin1").endsWith("hello")) socket.write("ok");
      });
    });
    return { address, received };
  }

  it("opens each upstream connection with a v1 or v2 header naming the client", async () => {
    for (const version of ["v1", "v2"] as const) {
      const backend = await recordingBackend();
      const { port } = await startProxy(createBalancer({ backends: [{ address: backend.address }] }), {
        sendProxyProtocol: version,
      });
      const client = connect(port);
      await new Promise((resolve) => client.once("connect", resolve));
      client.write("hello");
      expect(await readBytes(client, 2)).toBe("ok");
      const sent = backend.received[0] as Buffer;
      const header = readProxyHeader(sent);
      expect(header).toEqual({
        status: "done",
        length: expect.any(Number),
        connection: {
          sourceAddress: HOST,
          sourcePort: client.localPort,
          destinationAddress: HOST,
          destinationPort: port,
        },
      });
      if (version === "v1") {
        expect(sent.toString("latin1")).toBe(
          `PROXY TCP4 127.0.0.1 127.0.0.1 ${client.localPort} ${port}\r\nhello`,
        );
      }
      expect(sent.subarray(header.status === "done" ? header.length : 0).toString()).toBe("hello");
    }
  });

  it("takes the header from the proxy in front, strips it, and routes and passes on the client it names", async () => {
    const backend = await recordingBackend();
    const { port } = await startProxy(createBalancer({ backends: [{ address: backend.address }] }), {
      acceptProxyProtocol: true,
      sendProxyProtocol: "v1",
    });
    const inFront = encodeProxyHeader("v2", {
      sourceAddress: "2001:db8::7",
      sourcePort: 40_000,
      destinationAddress: "2001:db8::1",
      destinationPort: 443,
    });
    const client = connect(port);
    // The header in three pieces, the payload behind its last piece.
    client.write(inFront.subarray(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.write(inFront.subarray(5, 20));
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.write(Buffer.concat([inFront.subarray(20), Buffer.from("hello")]));
    expect(await readBytes(client, 2)).toBe("ok");
    expect((backend.received[0] as Buffer).toString("latin1")).toBe(
      "PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\nhello",
    );

    // Without a header to send on, the backend gets the bytes after the header and nothing else.
    const plain = await recordingBackend();
    const quiet = await startProxy(createBalancer({ backends: [{ address: plain.address }] }), {
      acceptProxyProtocol: true,
    });
    const second = connect(quiet.port);
    second.write("PROXY TCP4 203.0.113.9 198.51.100.1 40000 443\r\nhello");
    expect(await readBytes(second, 2)).toBe("ok");
    expect((plain.received[0] as Buffer).toString()).toBe("hello");
  });

  it("balances on the client the header names (ip-hash)", async () => {
    const backends = [
      { id: "a", address: await startBackend((socket) => socket.end("a")) },
      { id: "b", address: await startBackend((socket) => socket.end("b")) },
    ];
    const { port } = await startProxy(createBalancer({ backends, algorithm: "ip-hash" }), {
      acceptProxyProtocol: true,
    });
    // The same hashing, outside the proxy: which backend each client should reach.
    const oracle = createBalancer({ backends, algorithm: "ip-hash" });
    const clients = Array.from({ length: 16 }, (_, i) => `198.51.100.${i + 1}`);
    const expected = clients.map((ip) => oracle.select({ clientIp: ip }).backend.id);
    expect(new Set(expected).size).toBe(2);
    const seen: string[] = [];
    for (const ip of clients) {
      const client = connect(port);
      client.write(`PROXY TCP4 ${ip} 192.0.2.1 5000 80\r\n`);
      seen.push((await collect(client)).data);
    }
    expect(seen).toEqual(expected);
  });

  it("closes a connection whose header is missing, malformed, cut off or late, and never connects it", async () => {
    let upstreamConnections = 0;
    const address = await startBackend((socket) => {
      upstreamConnections++;
      socket.end();
    });
    const balancer = createBalancer({ backends: [{ address }] });
    const { port } = await startProxy(balancer, { acceptProxyProtocol: true, connectTimeoutMs: 200 });
    for (const opening of ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\n"]) {
      const client = connect(port);
      client.write(opening);
      expect(await collect(client)).toEqual({ data: "", ended: expect.any(Boolean) });
    }
    // Half a header, then the client's FIN: closed at once.
    const cut = connect(port);
    const cutClosed = collect(cut);
    cut.end("PROXY TCP4 1.2.3.4");
    const cutAt = Date.now();
    await cutClosed;
    expect(Date.now() - cutAt).toBeLessThan(150);
    // Half a header and silence: closed after connectTimeoutMs.
    const late = connect(port);
    const lateClosed = collect(late);
    late.write("PROXY TCP4 1.2.3.4");
    const lateAt = Date.now();
    await lateClosed;
    expect(Date.now() - lateAt).toBeGreaterThanOrEqual(150);
    expect(upstreamConnections).toBe(0);
    expect(balancer.stats().requests).toBe(0);
  });

  it("refuses a PROXY protocol version it does not know", () => {
    expect(
      () => new TcpProxy({ balancer: createBalancer(), sendProxyProtocol: "v3" as ProxyProtocolVersion }),
    ).toThrow('sendProxyProtocol must be "v1" or "v2"');
  });
});
