/**
 * `switchyard agent`: the monitoring agent (SwarmGuard). Serves
 * `GET /metrics/containers` and `GET /health` on `--listen` (default
 * 127.0.0.1:8082, or SwarmGuard's `API_PORT`), sampling every `--interval` ms: cgroup v2 containers by
 * default, or with `--processes PATTERN` the processes whose command line
 * matches the regular expression. Logs one `agent listening` line with the
 * bound address, runs until SIGINT/SIGTERM and stops gracefully. With
 * SwarmGuard's `API_ENABLED=false` it serves and samples nothing (its API is
 * all this agent does) but stays up until a signal, as a service that a
 * deployment keeps running. The agent modules load only when this command runs.
 */
import { formatHostPort } from "../core/address.js";
import { ErrorCodes } from "../core/errors.js";
import { createLogger } from "../observability/create-logger.js";
import { UsageError } from "./arguments.js";
import { nextSignal, shutdown } from "./shutdown.js";

/** The options of `switchyard agent`, as commander parsed them. */
export interface AgentOptions {
  /** Absent: 127.0.0.1 on API_PORT, else 8082. */
  listen?: { host: string; port: number };
  processes?: string;
  interval: number;
  cgroupRoot?: string;
  node?: string;
}

const SHUTDOWN_GRACE_MS = 2_000;

type Env = Readonly<Record<string, string | undefined>>;

/** SwarmGuard's API_ENABLED: true when unset; anything but a boolean is a usage error. */
function agentApiEnabled(env: Env): boolean {
  const text = env.API_ENABLED?.trim().toLowerCase();
  if (!text || ["true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off"].includes(text)) return false;
  throw new UsageError(
    ErrorCodes.INVALID_OPTIONS,
    `API_ENABLED: expected true or false, got "${env.API_ENABLED}"`,
  );
}

/** `--listen`, else 127.0.0.1 on SwarmGuard's API_PORT, else on `defaultPort`. */
function agentListen(
  listen: AgentOptions["listen"],
  env: Env,
  defaultPort: number,
): { host: string; port: number } {
  if (listen) return listen;
  const text = env.API_PORT?.trim();
  if (!text) return { host: "127.0.0.1", port: defaultPort };
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(
      ErrorCodes.INVALID_OPTIONS,
      `API_PORT: expected a port from 0 to 65535, got "${text}"`,
    );
  return { host: "127.0.0.1", port };
}

export async function agentCommand(options: AgentOptions): Promise<void> {
  if (!agentApiEnabled(process.env)) {
    // Listen for the signal before saying so, and hold the process open: there is nothing else to.
    const stopped = nextSignal();
    const idle = setInterval(() => undefined, 2 ** 30);
    const logger = createLogger();
    logger.info("agent API disabled (API_ENABLED=false): serving and sampling nothing until stopped");
    const signal = await stopped;
    clearInterval(idle);
    logger.info({ signal }, "stopped");
    process.exit(0);
  }
  let pattern: RegExp | undefined;
  if (options.processes !== undefined) {
    try {
      pattern = new RegExp(options.processes);
    } catch (error) {
      throw new UsageError(
        ErrorCodes.INVALID_OPTIONS,
        `--processes: expected a regular expression (${(error as Error).message})`,
      );
    }
  }
  const [
    { AgentServer, DEFAULT_AGENT_PORT },
    { Sampler },
    { ProcessSource },
    { CgroupSource },
    { ListenError },
  ] = await Promise.all([
    import("../agent/agent-server.js"),
    import("../agent/sampler.js"),
    import("../agent/process-source.js"),
    import("../agent/cgroup-source.js"),
    import("../runtime.js"),
  ]);
  const listen = agentListen(options.listen, process.env, DEFAULT_AGENT_PORT);
  const logger = createLogger();
  const source = pattern ? new ProcessSource({ pattern }) : new CgroupSource({ root: options.cgroupRoot });
  const cgroups = source instanceof CgroupSource ? source : undefined;
  const sampler = new Sampler({ source, intervalMs: options.interval, node: options.node });
  const server = new AgentServer({ sampler, host: listen.host, port: listen.port });
  let bound: { host: string; port: number };
  try {
    bound = await server.listen();
  } catch (error) {
    throw new ListenError("agent", formatHostPort(listen.host, listen.port), error);
  }
  logger.info(
    {
      address: formatHostPort(bound.host, bound.port),
      node: sampler.node,
      source: source.kind,
      ...(cgroups
        ? { cgroupRoot: cgroups.layout.root, cgroupVersion: cgroups.layout.version }
        : { processes: pattern?.source }),
      intervalMs: sampler.intervalMs,
    },
    "agent listening",
  );
  // An empty report looks like an idle host to the balancer: say why it is empty instead.
  if (cgroups && cgroups.collect().length === 0) {
    logger.warn(
      { cgroupRoot: cgroups.layout.root, cgroupVersion: cgroups.layout.version },
      "no cgroup with CPU and memory figures found: reports stay empty; point --cgroup-root at the cgroup mount or use --processes PATTERN",
    );
  }
  const signal = await nextSignal();
  logger.info({ signal }, "shutting down");
  await shutdown(SHUTDOWN_GRACE_MS, () => server.close());
  logger.info("stopped");
  process.exit(0);
}
