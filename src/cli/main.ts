/**
 * The `switchyard` command: `proxy` (run from a config file and/or flags),
 * `validate`, `algorithms`, `backend` (one demo backend), `demo` (demo
 * backends behind a proxy), `agent` (the monitoring agent), the `lab`
 * group (`lab simulate`) and the `config` group (`config push`, `config get`:
 * pools and routes in etcd). This file
 * declares the commands and their flags, runs the program and reports
 * errors; each command's action lives in its own `*-command.ts`. Expected
 * failures print one line, `error SY_ERR_…: message`, and exit 2 for
 * configuration and usage errors, 1 otherwise; long-running commands stop
 * gracefully on SIGINT/SIGTERM and exit 0. The proxy, demo and lab modules
 * load only for the commands that run them, so `validate` and `algorithms`
 * start fast.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { ENV_OVERRIDES } from "../config/load.js";
import { ErrorCodes, isSwitchyardError } from "../core/errors.js";
import { packageVersion } from "../core/version.js";
import { MAX_DEMO_CONCURRENCY } from "../demo/backend-server.js";
import { listScenarios } from "../lab/scenarios.js";
import { LOG_FORMATS } from "../observability/log-format.js";
import { type AgentOptions, agentCommand } from "./agent-command.js";
import { algorithmsCommand } from "./algorithms-command.js";
import {
  collect,
  integerArgument,
  listenArgument,
  portListArgument,
  rateArgument,
  UsageError,
  workersArgument,
} from "./arguments.js";
import {
  type ConfigGetOptions,
  type ConfigStoreFlags,
  configGetCommand,
  configPushCommand,
} from "./config-command.js";
import {
  type BackendOptions,
  backendCommand,
  type DemoOptions,
  demoCommand,
  MAX_DEMO_BACKENDS,
} from "./demo-command.js";
import { type LabSimulateCliOptions, labSimulateCommand } from "./lab-command.js";
import { type ProxyOptions, proxyCommand, type ValidateOptions, validateCommand } from "./proxy-command.js";

export function buildProgram(): Command {
  const program = new Command("switchyard")
    .description("Load-aware HTTP and TCP load balancer.")
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();

  program
    .command("proxy")
    .description("run the proxy from a config file and/or flags (flags override the file)")
    .addOption(configOption())
    .addOption(
      new Option("--listen <host:port>", "listen address of the first listener (default 127.0.0.1:8080)"),
    )
    .option("-b, --backend <address>", "backend address, repeatable (or comma-separated)", collect)
    .option("-a, --algorithm <name>", "algorithm for every pool (see `switchyard algorithms`)")
    .addOption(new Option("--protocol <protocol>", "protocol of the first listener").choices(["http", "tcp"]))
    .addOption(
      new Option(
        "--log-format <format>",
        "json, pretty, or auto: pretty on a terminal (default auto)",
      ).choices(LOG_FORMATS),
    )
    .option(
      "-w, --workers <count>",
      'worker processes sharing the listeners, or "auto" for one per CPU core (default 1)',
      workersArgument,
    )
    .addHelpText("after", envHelp())
    .action(async (options: ProxyOptions) => proxyCommand(options));

  program
    .command("validate")
    .description("check a config file (with SWITCHYARD_* overrides) without starting anything")
    .addOption(configOption().makeOptionMandatory())
    .option("--no-env", "ignore SWITCHYARD_* environment overrides")
    .action(async (options: ValidateOptions) => validateCommand(options));

  program
    .command("algorithms")
    .description("list every registered algorithm with its options")
    .option("--json", "print JSON instead of text")
    .action((options: { json?: boolean }) => algorithmsCommand(options));

  program
    .command("backend")
    .description(
      "run one demo backend that answers with its name; /control?delay_ms=N&error_rate=R changes it (set_delay_ms=N too), ?delay=N delays one request",
    )
    .requiredOption("--listen <host:port>", "listen address", listenArgument)
    .requiredOption("--name <name>", "name the backend answers with")
    .option("--delay-ms <ms>", "delay before every answer (0..60000)", integerArgument(0, 60_000), 0)
    .option("--error-rate <rate>", "share of requests answered 500 (0..1)", rateArgument, 0)
    .option(
      "--concurrency <n>",
      "requests served at once; the rest queue in arrival order (default unlimited)",
      integerArgument(1, MAX_DEMO_CONCURRENCY),
    )
    .action(async (options: BackendOptions) => backendCommand(options));

  program
    .command("demo")
    .description("start demo backends behind a round-robin HTTP proxy on 127.0.0.1")
    .option("-p, --port <port>", "proxy port (0 picks a free one)", integerArgument(0, 65_535), 8080)
    .option("--admin-port <port>", "admin API port (0 picks a free one)", integerArgument(0, 65_535), 9090)
    .option(
      "-n, --backends <count>",
      `number of demo backends (1..${MAX_DEMO_BACKENDS}; default 3, or one per --backend-ports entry)`,
      integerArgument(1, MAX_DEMO_BACKENDS),
    )
    .option(
      "--backend-ports <ports>",
      "pin the demo backends' ports: one per backend (9001,9002,9003), or the first of consecutive ports (9001); default any free ports",
      portListArgument,
    )
    .action(async (options: DemoOptions) => demoCommand(options));

  program
    .command("agent")
    .description(
      "monitoring agent: per-container (cgroup v2 or v1) or per-process CPU, memory and network on GET /metrics/containers",
    )
    .addOption(
      new Option(
        "--listen <host:port>",
        "listen address (default 127.0.0.1:8082, or 127.0.0.1:$API_PORT); API_ENABLED=false serves nothing",
      ).argParser(listenArgument),
    )
    .option(
      "--processes <pattern>",
      "report processes whose command line matches this regular expression instead of cgroups",
    )
    .option("--interval <ms>", "sampling interval (50..60000)", integerArgument(50, 60_000), 1000)
    .option(
      "--cgroup-root <dir>",
      "cgroup mount: a v2 hierarchy, or the parent of v1's memory/ and cpuacct/ (default /sys/fs/cgroup)",
    )
    .option("--node <name>", "node name in reports (default the host name)")
    .action(async (options: AgentOptions) => agentCommand(options));

  const lab = program
    .command("lab")
    .description("load lab: compare algorithms on simulated backends, no sockets involved");

  lab
    .command("simulate")
    .description(
      "simulate a scenario under several algorithms on the same workload and compare latency, load spread and errors",
    )
    .option("-s, --scenario <name>", 'built-in scenario, or "all"', "heterogeneous")
    .option("-a, --algorithms <list>", 'comma-separated algorithm names, or "all"', "all")
    .option("-n, --requests <count>", "requests to simulate per run (default: the scenario's own count)")
    .addOption(
      new Option(
        "--seed <seed>",
        "seed of every random stream; the same seed gives the same workload",
      ).default(1),
    )
    .option("--json", "print the results as JSON instead of a table")
    .option("-o, --out <dir>", "also write results.json and report.html into this directory")
    .addHelpText("after", scenarioHelp)
    .action(async (options: LabSimulateCliOptions) => labSimulateCommand(options));

  const config = program
    .command("config")
    .description("the pools and routes shared through etcd (configStore.provider: etcd)");

  config
    .command("push")
    .description(
      "validate a config file and write each of its pools and each listener's routes to etcd, replacing what is stored for them",
    )
    .addOption(configOption().makeOptionMandatory())
    .addOption(etcdOption())
    .addOption(prefixOption())
    .action(async (options: ConfigStoreFlags & { config: string }) => configPushCommand(options));

  config
    .command("get")
    .description("print the pools and routes stored in etcd (YAML, or JSON with --json)")
    .addOption(
      new Option("-c, --config <file>", "read etcd's endpoints and prefix from this file's configStore"),
    )
    .addOption(etcdOption())
    .addOption(prefixOption())
    .option("--json", "print JSON instead of YAML")
    .action(async (options: ConfigGetOptions) => configGetCommand(options));

  return program;
}

function etcdOption(): Option {
  return new Option(
    "--etcd <url>",
    "etcd client URL, repeatable (default: the config file's configStore.endpoints)",
  ).argParser(collect);
}

function prefixOption(): Option {
  return new Option("--prefix <prefix>", "key prefix (default: configStore.prefix, else /switchyard/)");
}

/** Runs the CLI; sets `process.exitCode` (long-running commands exit the process when they stop). */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

/** Prints an error the way operators expect; returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (isSwitchyardError(error)) {
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
    return error.code === ErrorCodes.CONFIG || error instanceof UsageError ? 2 : 1;
  }
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

function configOption(): Option {
  return new Option("-c, --config <file>", "config file, YAML or JSON").env("SWITCHYARD_CONFIG");
}

/** `lab simulate --help` lists the built-in scenarios (their module is small; the simulator stays unloaded). */
function scenarioHelp(): string {
  const scenarios = listScenarios();
  const width = Math.max(...scenarios.map((scenario) => scenario.name.length));
  return [
    "",
    "Scenarios:",
    ...scenarios.map((scenario) => `  ${scenario.name.padEnd(width)}  ${scenario.summary}`),
  ].join("\n");
}

function envHelp(): string {
  const width = Math.max(...ENV_OVERRIDES.map((entry) => entry.name.length));
  return [
    "",
    "Precedence: config file < SWITCHYARD_* environment < flags.",
    "Environment:",
    `  ${"SWITCHYARD_CONFIG".padEnd(width)}  config file, when -c is not given`,
    ...ENV_OVERRIDES.map((entry) => `  ${entry.name.padEnd(width)}  ${entry.description}`),
  ].join("\n");
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main();
