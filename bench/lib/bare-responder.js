/**
 * The floor for bench/proxy.js's idle-connection memory: a bare Node `net`
 * server that answers every read with a fixed 200 "ok\n" and keeps the
 * connection. No proxying, no parsing: what Node itself costs per held
 * socket, the least a proxy written in Node can hold one for. Reports its port.
 */
import net from "node:net";
import { failStartup, serveParent } from "./child-ipc.js";

const RESPONSE = Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n", "latin1");

function answer() {
  this.write(RESPONSE);
}

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("data", answer);
  socket.on("error", () => socket.destroy());
});

const parent = serveParent({ onStop: () => new Promise((resolve) => server.close(resolve)) });
server.on("error", failStartup);
server.listen(0, "127.0.0.1", () => parent.ready({ host: "127.0.0.1", port: server.address().port }));
