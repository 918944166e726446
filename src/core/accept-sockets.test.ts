import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listeningSocketsOn } from "../../test/helpers/listening-sockets.js";
import {
  AcceptSockets,
  acceptSocketCount,
  DEFAULT_ACCEPT_SOCKETS,
  reusePortAvailable,
} from "./accept-sockets.js";
import { SwitchyardError } from "./errors.js";

const quiet = { info() {}, error() {} };
const opened: { close(): unknown }[] = [];

afterEach(async () => {
  for (const thing of opened.splice(0)) await thing.close();
});

function connectAll(port: number, count: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(socket));
          socket.on("error", reject);
        }),
    ),
  );
}

describe("acceptSocketCount", () => {
  it("defaults to 8 and takes whole numbers from 1 to 64", () => {
    expect(acceptSocketCount(undefined)).toBe(DEFAULT_ACCEPT_SOCKETS);
    expect(DEFAULT_ACCEPT_SOCKETS).toBe(8);
    expect(acceptSocketCount(1)).toBe(1);
    expect(acceptSocketCount(64)).toBe(64);
    for (const bad of [0, 65, 2.5, Number.NaN]) {
      expect(() => acceptSocketCount(bad)).toThrow(SwitchyardError);
    }
  });
});

describe("AcceptSockets", () => {
  it("binds the asked number of sockets where SO_REUSEPORT is available, one elsewhere", async () => {
    const main = net.createServer();
    const group = new AcceptSockets(main, 4);
    opened.push(group);
    const { port } = await group.listen("127.0.0.1", 0, quiet, "test listener");
    const expected = reusePortAvailable() ? 4 : 1;
    expect(group.count).toBe(expected);
    expect(listeningSocketsOn(port) ?? expected).toBe(expected);
  });

  it("hands every connection, whichever socket accepted it, to the main server's listeners", async () => {
    const main = net.createServer();
    const accepted: net.Socket[] = [];
    main.on("connection", (socket) => accepted.push(socket));
    const group = new AcceptSockets(main, 4);
    opened.push(group);
    const { port } = await group.listen("127.0.0.1", 0, quiet, "test listener");
    const clients = await connectAll(port, 40);
    await expect.poll(() => accepted.length).toBe(40);
    for (const socket of [...clients, ...accepted]) socket.destroy();
  });

  it("fails with EADDRINUSE on a port another listener holds, even one bound with SO_REUSEPORT", async () => {
    const other = net.createServer();
    opened.push(other);
    const otherOptions = { port: 0, host: "127.0.0.1", reusePort: true } as net.ListenOptions;
    await new Promise<void>((resolve) => other.listen(otherOptions, resolve));
    const port = (other.address() as net.AddressInfo).port;
    const group = new AcceptSockets(net.createServer(), 4);
    opened.push(group);
    await expect(group.listen("127.0.0.1", port, quiet, "test listener")).rejects.toMatchObject({
      code: "EADDRINUSE",
    });
  });

  it("close() releases every socket, so the port can be bound again", async () => {
    const group = new AcceptSockets(net.createServer(), 4);
    const { port } = await group.listen("127.0.0.1", 0, quiet, "test listener");
    await group.close();
    expect(listeningSocketsOn(port) ?? 0).toBe(0);
    const again = net.createServer();
    opened.push(again);
    await new Promise<void>((resolve, reject) => {
      again.once("error", reject);
      again.listen({ port, host: "127.0.0.1", exclusive: true }, resolve);
    });
    expect(again.listening).toBe(true);
  });
});
