/**
 * Memory per idle client connection: opens `count` keep-alive connections to
 * a proxy, sends one request on each and reads its response (so the proxy has
 * the per-connection state a served client leaves behind), then holds them idle.
 */
import { readFile } from "node:fs/promises";
import net from "node:net";

const REQUEST = "GET / HTTP/1.1\r\nHost: bench.local\r\nConnection: keep-alive\r\n\r\n";

/** Resident set size of `pid` in bytes, from /proc. */
export async function rssBytes(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(status.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1]);
  return kb * 1024;
}

function openOne(port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no response within the timeout"));
    }, timeoutMs);
    socket.setEncoding("latin1");
    socket.once("connect", () => socket.write(REQUEST));
    const onData = (chunk) => {
      received += chunk;
      if (received.includes("\r\n\r\n") && received.endsWith("ok\n")) {
        clearTimeout(timer);
        socket.off("data", onData);
        if (!received.startsWith("HTTP/1.1 200")) {
          socket.destroy();
          reject(new Error(`unexpected response: ${received.split("\r\n")[0]}`));
          return;
        }
        const held = { socket, closed: false };
        socket.on("close", () => {
          held.closed = true;
        });
        socket.on("data", () => {});
        socket.on("error", () => {});
        resolve(held);
      }
    };
    socket.on("data", onData);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Opens `count` served keep-alive connections, `batch` at a time. */
export async function openIdleConnections(port, count, { batch = 100, timeoutMs = 10_000 } = {}) {
  const held = [];
  try {
    for (let opened = 0; opened < count; opened += batch) {
      const size = Math.min(batch, count - opened);
      const results = await Promise.all(Array.from({ length: size }, () => openOne(port, timeoutMs)));
      held.push(...results);
    }
  } catch (error) {
    closeIdleConnections(held);
    throw error;
  }
  return held;
}

export function stillOpen(held) {
  return held.filter((h) => !h.closed).length;
}

export function closeIdleConnections(held) {
  for (const h of held) h.socket.destroy();
}
