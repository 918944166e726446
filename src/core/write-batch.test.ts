import net from "node:net";
import { setImmediate as nextPhase } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { holdWrites, sendHeldNow } from "./write-batch.js";

/** A connected pair on 127.0.0.1 and everything the server side receives. */
async function pair(): Promise<{ client: net.Socket; received: () => string; closed: Promise<void> }> {
  let text = "";
  let onClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    onClosed = resolve;
  });
  const server = net.createServer((socket) => {
    socket.setEncoding("latin1");
    socket.on("data", (data: string) => {
      text += data;
    });
    socket.on("close", () => {
      server.close();
      onClosed();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect({ host: "127.0.0.1", port });
  await new Promise((resolve) => client.once("connect", resolve));
  sockets.push(client);
  return { client, received: () => text, closed };
}

const sockets: net.Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

describe("holdWrites", () => {
  it("keeps a phase's writes in the stream until setImmediate, then sends them in order", async () => {
    const { client, received } = await pair();
    holdWrites(client);
    client.write("one ");
    holdWrites(client);
    client.write("two");
    expect(client.writableLength).toBe(7);
    await nextPhase();
    expect(client.writableLength).toBe(0);
    await expect.poll(received).toBe("one two");
  });

  it("holds streams apart and sends each once", async () => {
    const a = await pair();
    const b = await pair();
    holdWrites(a.client);
    holdWrites(b.client);
    a.client.write("a");
    b.client.write("b");
    expect(a.client.writableCorked).toBe(1);
    expect(b.client.writableCorked).toBe(1);
    await nextPhase();
    expect(a.client.writableCorked).toBe(0);
    expect(b.client.writableCorked).toBe(0);
    await expect.poll(() => a.received() + b.received()).toBe("ab");
  });

  it("sendHeldNow sends one stream of several; the others wait for the phase's end, and it can be held again", async () => {
    const a = await pair();
    const b = await pair();
    const c = await pair();
    for (const { client } of [a, b, c]) holdWrites(client);
    a.client.write("a");
    b.client.write("b");
    c.client.write("c");
    sendHeldNow(b.client);
    expect(b.client.writableCorked).toBe(0);
    expect(a.client.writableCorked).toBe(1);
    expect(c.client.writableCorked).toBe(1);
    holdWrites(b.client);
    b.client.write("B");
    expect(b.client.writableCorked).toBe(1);
    await nextPhase();
    for (const { client } of [a, b, c]) expect(client.writableCorked).toBe(0);
    await expect.poll(() => a.received() + b.received() + c.received()).toBe("abBc");
    // The next phase starts empty: a stream held now is held (and sent) once more.
    holdWrites(a.client);
    a.client.write("!");
    expect(a.client.writableCorked).toBe(1);
    await nextPhase();
    await expect.poll(a.received).toBe("a!");
  });

  it("sendHeldNow sends before a destroy that would drop held bytes", async () => {
    const kept = await pair();
    holdWrites(kept.client);
    kept.client.write("last answer");
    sendHeldNow(kept.client);
    kept.client.destroy();
    await kept.closed;
    expect(kept.received()).toBe("last answer");

    const dropped = await pair();
    holdWrites(dropped.client);
    dropped.client.write("lost");
    dropped.client.destroy();
    await dropped.closed;
    expect(dropped.received()).toBe("");
  });
});
