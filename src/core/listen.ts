/**
 * Binding a server: listen on host:port, resolve with the bound address (the
 * real port when 0 was asked) or reject with the system error as it is
 * (EADDRINUSE, ...), which the runtime wraps with the listener's name. After
 * binding, server errors are logged rather than thrown, so a late socket error
 * cannot crash the process. In a cluster worker a listen is shared with the
 * other workers unless `exclusive` is set. `reusePort` binds with SO_REUSEPORT
 * (Node ≥ 22.12; see accept-sockets.ts).
 */
import type net from "node:net";

/** The two log calls a bound server makes; a pino logger is one. */
export interface ListenLogger {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface BoundAddress {
  host: string;
  port: number;
}

export function listenOn(
  server: net.Server,
  host: string,
  port: number,
  logger: ListenLogger,
  what: string,
  options: { exclusive?: boolean; reusePort?: boolean } = {},
): Promise<BoundAddress> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    // reusePort is not in @types/node 20's ListenOptions yet.
    const listen = { port, host, exclusive: options.exclusive ?? false, reusePort: options.reusePort };
    server.listen(listen as net.ListenOptions, () => {
      server.off("error", onError);
      server.on("error", (error) => logger.error({ err: error }, `${what} error`));
      const info = server.address() as net.AddressInfo;
      const address = { host: info.address, port: info.port };
      logger.info(address, `${what} ready`);
      resolve(address);
    });
  });
}
