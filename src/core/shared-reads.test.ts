import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ClientHandle, SHARED_READ_BUFFER, socketWithSharedReads, takeAccepts } from "./shared-reads.js";

const closers: (() => unknown)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as net.AddressInfo).port;
}

describe("takeAccepts and socketWithSharedReads", () => {
  it("hands each accepted connection over as a handle, read through the shared buffer", async () => {
    const server = net.createServer();
    const connectionEvents: net.Socket[] = [];
    server.on("connection", (socket) => connectionEvents.push(socket));
    const port = await listening(server);
    const received: string[] = [];
    takeAccepts(
      server,
      (client: ClientHandle) => {
        const socket = socketWithSharedReads(client, (length) => {
          received.push(SHARED_READ_BUFFER.toString("latin1", 0, length));
          return true;
        });
        closers.push(() => socket.destroy());
      },
      () => {},
    );
    const client = net.connect({ host: "127.0.0.1", port });
    closers.push(() => client.destroy());
    client.write("hello over the shared buffer");
    await expect.poll(() => received.join("")).toBe("hello over the shared buffer");
    // Node built no socket of its own for the connection.
    expect(connectionEvents).toHaveLength(0);
  });

  it("calls one read callback as a method of each socket, so it needs no closure per connection", async () => {
    const server = net.createServer();
    const port = await listening(server);
    const bySocket = new Map<net.Socket, string>();
    function onRead(this: net.Socket, length: number): boolean {
      bySocket.set(this, (bySocket.get(this) ?? "") + SHARED_READ_BUFFER.toString("latin1", 0, length));
      return true;
    }
    const accepted: net.Socket[] = [];
    takeAccepts(
      server,
      (client) => {
        const socket = socketWithSharedReads(client, onRead);
        accepted.push(socket);
        closers.push(() => socket.destroy());
      },
      () => {},
    );
    for (const text of ["first", "second"]) {
      const client = net.connect({ host: "127.0.0.1", port });
      closers.push(() => client.destroy());
      client.write(text);
      await expect.poll(() => accepted.length).toBe(text === "first" ? 1 : 2);
      await expect.poll(() => bySocket.get(accepted.at(-1) as net.Socket)).toBe(text);
    }
    expect(bySocket.size).toBe(2);
  });

  it("reports a failed accept by its error code", async () => {
    const server = net.createServer();
    await listening(server);
    const failures: string[] = [];
    takeAccepts(
      server,
      () => {},
      (code) => failures.push(code),
    );
    // What Node's listening handle calls when accept(2) fails with EMFILE (-24).
    const handle = (server as unknown as { _handle: { onconnection(status: number): void } })._handle;
    handle.onconnection(-24);
    expect(failures).toEqual(["EMFILE"]);
  });
});
