import { readFileSync } from "node:fs";

/** Listening TCP sockets on 127.0.0.1:`port`, from the kernel's table (Linux; undefined elsewhere). */
export function listeningSocketsOn(port: number): number | undefined {
  if (process.platform !== "linux") return undefined;
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .filter((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1] === local && fields[3] === "0A";
    }).length;
}
