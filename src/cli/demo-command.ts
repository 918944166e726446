/**
 * `switchyard backend` (one demo backend, answering with its name) and
 * `switchyard demo` (N demo backends behind a round-robin HTTP proxy on
 * 127.0.0.1, with a printed cheat sheet of what to try and the dashboard's
 * link, token included in the fragment). Both run until
 * SIGINT/SIGTERM and stop gracefully; the demo server and the runtime load
 * only when one of these commands runs.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultDashboardDir } from "../admin/dashboard-files.js";
import { parseConfig } from "../config/load.js";
import { LOG_LEVELS, type SwitchyardConfig } from "../config/schema.js";
import { formatHostPort } from "../core/address.js";
import type { DemoBackend } from "../demo/backend-server.js";
import { createLogger } from "../observability/create-logger.js";
import type { Runtime } from "../runtime.js";
import { demoBackendPorts } from "./demo-ports.js";
import { nextSignal, shutdown } from "./shutdown.js";
import { plural, table } from "./text-format.js";

/** Upper bound of `switchyard demo --backends`. */
export const MAX_DEMO_BACKENDS = 32;

/** The options of `switchyard backend`, as commander parsed them. */
export interface BackendOptions {
  listen: { host: string; port: number };
  name: string;
  delayMs: number;
  errorRate: number;
  /** Requests served at once; more wait their turn. Default unlimited. */
  concurrency?: number;
}

/** The options of `switchyard demo`. */
export interface DemoOptions {
  port: number;
  adminPort: number;
  /** How many backends; default 3, or one per `backendPorts` entry. */
  backends?: number;
  /** `--backend-ports`: one port per backend, or the first of consecutive ones. */
  backendPorts?: number[];
}

export async function backendCommand(options: BackendOptions): Promise<void> {
  const [{ DemoBackend }, { ListenError }] = await Promise.all([
    import("../demo/backend-server.js"),
    import("../runtime.js"),
  ]);
  const logger = createLogger();
  const backend = new DemoBackend({
    name: options.name,
    host: options.listen.host,
    port: options.listen.port,
    delayMs: options.delayMs,
    errorRate: options.errorRate,
    concurrency: options.concurrency,
  });
  const address = formatHostPort(options.listen.host, options.listen.port);
  let bound: { host: string; port: number };
  try {
    bound = await backend.listen();
  } catch (error) {
    throw new ListenError(`backend ${options.name}`, address, error);
  }
  logger.info(
    { backend: options.name, address: formatHostPort(bound.host, bound.port), ...backend.settings },
    "listening",
  );
  const signal = await nextSignal();
  logger.info({ signal }, "shutting down");
  await shutdown(0, () => backend.close());
  process.exit(0);
}

export async function demoCommand(options: DemoOptions): Promise<void> {
  const host = "127.0.0.1";
  const [{ DemoBackend }, { ListenError, startSwitchyard }] = await Promise.all([
    import("../demo/backend-server.js"),
    import("../runtime.js"),
  ]);
  const ports = demoBackendPorts(options.backendPorts, options.backends);
  const backends = ports.map((port, index) => new DemoBackend({ name: `backend-${index + 1}`, host, port }));
  const closeBackends = () => Promise.allSettled(backends.map((backend) => backend.close()));
  let config: SwitchyardConfig;
  try {
    const addresses = await Promise.all(
      backends.map((backend, index) => listenBackend(backend, formatHostPort(host, ports[index] ?? 0))),
    );
    config = parseConfig({
      listeners: [
        { name: "demo", protocol: "http", listen: formatHostPort(host, options.port), pool: "demo" },
      ],
      pools: {
        demo: {
          algorithm: "round-robin",
          backends: addresses.map((address, index) => ({
            id: backends[index]?.name,
            address: formatHostPort(address.host, address.port),
          })),
        },
      },
      // A fresh token per run: the demo's admin writes work, and only for whoever reads the terminal.
      admin: { listen: formatHostPort(host, options.adminPort), token: randomBytes(12).toString("hex") },
      shutdownGraceMs: 2_000,
    });
  } catch (error) {
    await closeBackends();
    throw error;
  }
  const level = process.env.SWITCHYARD_LOG_LEVEL ?? "warn";
  const logger = createLogger({
    level: LOG_LEVELS.includes(level as (typeof LOG_LEVELS)[number]) ? level : "warn",
  });
  let runtime: Runtime;
  try {
    runtime = await startSwitchyard(config, { logger });
  } catch (error) {
    await closeBackends();
    if (error instanceof ListenError && error.reason === "EADDRINUSE") {
      const [flag, port] =
        error.listener === "admin" ? ["--admin-port", options.adminPort] : ["--port", options.port];
      throw new ListenError(
        error.listener,
        error.address,
        new Error(
          `port ${port} is already in use; pick another with ${flag} (e.g. switchyard demo ${flag} ${port + 1}, or ${flag} 0 for any free port)`,
        ),
      );
    }
    throw error;
  }
  const proxy = runtime.listeners[0];
  if (!proxy) throw new Error("the demo runtime has no listener");
  const proxyAddress = formatHostPort(proxy.host, proxy.port);
  const adminAddress = runtime.admin ? formatHostPort(runtime.admin.host, runtime.admin.port) : "";
  const auth = `-H 'authorization: Bearer ${config.admin?.token}'`;
  const first = backends[0]?.address;
  const second = backends[1]?.address ?? first;
  const names = backends.map((backend) => backend.name).join(", ");
  const rows = [
    ["proxy", `http://${proxyAddress}`, `round-robin over ${plural(backends.length, "backend")}`],
    ...backends.map((backend) => [
      backend.name,
      `http://${formatHostPort(backend.address.host, backend.address.port)}`,
      "",
    ]),
    ["admin API", `http://${adminAddress}`, `token ${config.admin?.token}`],
    [
      "dashboard",
      `http://${adminAddress}/#token=${config.admin?.token}`,
      existsSync(join(defaultDashboardDir(), "index.html"))
        ? "live charts and controls; open it in a browser"
        : "not built yet: run npm run build",
    ],
  ];
  const tryRows = [
    [`curl ${proxyAddress}/`, `# answered by ${names} in turn`],
    first
      ? [`curl '${formatHostPort(first.host, first.port)}/control?delay_ms=300'`, "# make backend-1 slow"]
      : [],
    second
      ? [
          `curl '${formatHostPort(second.host, second.port)}/control?error_rate=0.5'`,
          `# make ${backends[1]?.name ?? "backend-1"} fail half its requests`,
        ]
      : [],
    [`curl ${adminAddress}/api/stats`, "# per-backend requests, errors, latency, health"],
    [
      `curl ${auth} -d '{"algorithm":"least-latency"}' ${adminAddress}/api/strategy`,
      "# switch the algorithm live",
    ],
    [
      `curl ${auth} -X PATCH -d '{"enabled":false}' ${adminAddress}/api/servers/backend-1`,
      "# take backend-1 out",
    ],
    ["npx switchyard algorithms", "# every algorithm and its options"],
  ].filter((row) => row.length > 0);
  process.stdout.write(
    [
      "Switchyard demo is running.",
      "",
      ...table(rows).map((row) => `  ${row}`),
      "",
      "Try:",
      ...tryRows.flatMap(([command, comment]) => [`  ${comment}`, `  ${command}`]),
      "",
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  const signal = await nextSignal();
  process.stdout.write(`\n${signal}: shutting down\n`);
  await shutdown(config.shutdownGraceMs, async () => {
    await runtime.close(config.shutdownGraceMs);
    await closeBackends();
  });
  process.stdout.write("stopped\n");
  process.exit(0);
}

/** Listens, naming `--backend-ports` when the backend's port is taken. */
async function listenBackend(backend: DemoBackend, address: string): Promise<{ host: string; port: number }> {
  const { ListenError } = await import("../runtime.js");
  try {
    return await backend.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "EADDRINUSE"
        ? new Error(`${backend.name}'s port is already in use; pick others with --backend-ports`)
        : error;
    throw new ListenError(backend.name, address, reason);
  }
}
