/**
 * `switchyard agent`: the monitoring agent (SwarmGuard). Serves
 * `GET /metrics/containers` and `GET /health` on `--listen` (default
 * 127.0.0.1:8082), sampling every `--interval` ms: cgroup v2 containers by
 * default, or with `--processes PATTERN` the processes whose command line
 * matches the regular expression. Logs one `agent listening` line with the
 * bound address, runs until SIGINT/SIGTERM and stops gracefully. The agent
 * modules load only when this command runs.
 */
import { formatHostPort } from "../core/address.js";
import { ErrorCodes } from "../core/errors.js";
import { createLogger } from "../observability/create-logger.js";
import { UsageError } from "./arguments.js";
import { nextSignal, shutdown } from "./shutdown.js";

/** The options of `switchyard agent`, as commander parsed them. */
export interface AgentOptions {
  listen: { host: string; port: number };
  processes?: string;
  interval: number;
  cgroupRoot?: string;
  node?: string;
}

const SHUTDOWN_GRACE_MS = 2_000;

export async function agentCommand(options: AgentOptions): Promise<void> {
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
  const [{ AgentServer }, { Sampler }, { ProcessSource }, { CgroupSource }, { ListenError }] =
    await Promise.all([
      import("../agent/agent-server.js"),
      import("../agent/sampler.js"),
      import("../agent/process-source.js"),
      import("../agent/cgroup-source.js"),
      import("../runtime.js"),
    ]);
  const logger = createLogger();
  const source = pattern ? new ProcessSource({ pattern }) : new CgroupSource({ root: options.cgroupRoot });
  const sampler = new Sampler({ source, intervalMs: options.interval, node: options.node });
  const server = new AgentServer({ sampler, host: options.listen.host, port: options.listen.port });
  let bound: { host: string; port: number };
  try {
    bound = await server.listen();
  } catch (error) {
    throw new ListenError("agent", formatHostPort(options.listen.host, options.listen.port), error);
  }
  logger.info(
    {
      address: formatHostPort(bound.host, bound.port),
      node: sampler.node,
      source: source.kind,
      ...(pattern
        ? { processes: pattern.source }
        : { cgroupRoot: (source as InstanceType<typeof CgroupSource>).root }),
      intervalMs: sampler.intervalMs,
    },
    "agent listening",
  );
  const signal = await nextSignal();
  logger.info({ signal }, "shutting down");
  await shutdown(SHUTDOWN_GRACE_MS, () => server.close());
  logger.info("stopped");
  process.exit(0);
}
