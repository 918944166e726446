/**
 * The `switchyard` command: `proxy` (run from a config file and/or flags),
 * `validate`, `algorithms`, `backend` (one demo backend) and `demo` (demo
 * backends behind a proxy). Expected failures print one line,
 * `error SY_ERR_…: message`, and exit 2 for configuration and usage errors,
 * 1 otherwise; long-running commands stop gracefully on SIGINT/SIGTERM and
 * exit 0. The proxy and demo modules load only for the commands that run
 * them, so `validate` and `algorithms` start fast.
 */
import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import "../algorithms/builtin.js";
import { type AlgorithmDefinition, describeOptions, listAlgorithms } from "../algorithms/registry.js";
import { ENV_OVERRIDES, parseConfig, resolveConfig, summarizeConfig } from "../config/load.js";
import { LOG_LEVELS, parseListenAddress, type SwitchyardConfig } from "../config/schema.js";
import { formatHostPort } from "../core/address.js";
import { ErrorCodes, isSwitchyardError, SwitchyardError } from "../core/errors.js";
import { createLogger } from "../observability/logger.js";
import type { Runtime } from "../runtime.js";

/** Extra time past the grace period before a stuck shutdown is forced. */
const SHUTDOWN_MARGIN_MS = 5_000;
const MAX_DEMO_BACKENDS = 32;

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
    .addHelpText("after", envHelp())
    .action(async (options: ProxyOptions) => proxyCommand(options));

  program
    .command("validate")
    .description("check a config file (with SWITCHYARD_* overrides) without starting anything")
    .addOption(configOption().makeOptionMandatory())
    .option("--no-env", "ignore SWITCHYARD_* environment overrides")
    .action(async (options: { config: string; env: boolean }) => validateCommand(options));

  program
    .command("algorithms")
    .description("list every registered algorithm with its options")
    .option("--json", "print JSON instead of text")
    .action((options: { json?: boolean }) => algorithmsCommand(options));

  program
    .command("backend")
    .description(
      "run one demo backend that answers with its name; /control?delay_ms=N&error_rate=R changes it",
    )
    .requiredOption("--listen <host:port>", "listen address", listenArgument)
    .requiredOption("--name <name>", "name the backend answers with")
    .option("--delay-ms <ms>", "delay before every answer (0..60000)", integerArgument(0, 60_000), 0)
    .option("--error-rate <rate>", "share of requests answered 500 (0..1)", rateArgument, 0)
    .action(async (options: BackendOptions) => backendCommand(options));

  program
    .command("demo")
    .description("start demo backends behind a round-robin HTTP proxy on 127.0.0.1")
    .option("-p, --port <port>", "proxy port (0 picks a free one)", integerArgument(0, 65_535), 8080)
    .option(
      "-n, --backends <count>",
      `number of demo backends (1..${MAX_DEMO_BACKENDS})`,
      integerArgument(1, MAX_DEMO_BACKENDS),
      3,
    )
    .action(async (options: { port: number; backends: number }) => demoCommand(options));

  return program;
}

/** Runs the CLI; sets `process.exitCode` (long-running commands exit the process when they stop). */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

interface ProxyOptions {
  config?: string;
  listen?: string;
  backend?: string[];
  algorithm?: string;
  protocol?: "http" | "tcp";
}

async function proxyCommand(options: ProxyOptions): Promise<void> {
  const flagBackends = options.backend ?? [];
  const hasBackends = flagBackends.length > 0 || Boolean(process.env.SWITCHYARD_BACKENDS?.trim());
  if (options.config === undefined && !hasBackends) {
    throw new SwitchyardError(
      ErrorCodes.CONFIG,
      "nothing to proxy: give a config file (-c FILE) or at least one --backend ADDRESS",
    );
  }
  const config = await resolveConfig({
    file: options.config,
    env: process.env,
    flags: {
      listen: options.listen,
      backends: flagBackends.length > 0 ? flagBackends : undefined,
      algorithm: options.algorithm,
      protocol: options.protocol,
    },
  });
  const logger = createLogger(config.log.level);
  const { startSwitchyard } = await import("../runtime.js");
  const runtime = await startSwitchyard(config, { logger });
  const signal = await nextSignal();
  logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
  await shutdown(config.shutdownGraceMs, () => runtime.close(config.shutdownGraceMs));
  logger.info("stopped");
  process.exit(0);
}

async function validateCommand(options: { config: string; env: boolean }): Promise<void> {
  const config = await resolveConfig({ file: options.config, env: options.env ? process.env : undefined });
  const counts = summarizeConfig(config);
  const lines = [
    `ok: ${plural(counts.listeners, "listener")}, ${plural(counts.pools, "pool")}, ${plural(counts.backends, "backend")}`,
  ];
  for (const listener of config.listeners) {
    const pool = config.pools[listener.pool];
    const algorithm = pool ? algorithmName(pool.algorithm) : "?";
    lines.push(
      `  listener ${listener.name}: ${listener.protocol} on ${listener.listen} → pool ${listener.pool} (${algorithm}, ${plural(pool?.backends.length ?? 0, "backend")})`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** One algorithm as listed by `switchyard algorithms --json`. */
export interface AlgorithmListing {
  name: string;
  aliases: string[];
  summary: string;
  reference?: string;
  options: OptionListing[];
}

export interface OptionListing {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description?: string;
}

export function algorithmListings(): AlgorithmListing[] {
  return listAlgorithms().map((definition) => {
    const listing: AlgorithmListing = {
      name: definition.name,
      aliases: [...(definition.aliases ?? [])],
      summary: definition.summary,
      options: optionListings(definition),
    };
    if (definition.reference) listing.reference = definition.reference;
    return listing;
  });
}

function algorithmsCommand(options: { json?: boolean }): void {
  const listings = algorithmListings();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(listings, null, 2)}\n`);
    return;
  }
  const blocks = listings.map((listing) => {
    const lines = [
      listing.aliases.length ? `${listing.name} (aliases: ${listing.aliases.join(", ")})` : listing.name,
    ];
    lines.push(`  ${listing.summary}`);
    if (listing.reference) lines.push(`  reference: ${listing.reference}`);
    if (listing.options.length === 0) {
      lines.push("  options: none");
    } else {
      lines.push("  options:");
      const rows = listing.options.map((option) => [
        option.name,
        option.type,
        option.default !== undefined
          ? `default ${JSON.stringify(option.default)}`
          : option.required
            ? "required"
            : "optional",
        option.description ?? "",
      ]);
      lines.push(...table(rows).map((row) => `    ${row}`));
    }
    return lines.join("\n");
  });
  process.stdout.write(`${blocks.join("\n\n")}\n`);
}

interface BackendOptions {
  listen: { host: string; port: number };
  name: string;
  delayMs: number;
  errorRate: number;
}

async function backendCommand(options: BackendOptions): Promise<void> {
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

async function demoCommand(options: { port: number; backends: number }): Promise<void> {
  const host = "127.0.0.1";
  const [{ DemoBackend }, { ListenError, startSwitchyard }] = await Promise.all([
    import("../demo/backend-server.js"),
    import("../runtime.js"),
  ]);
  const backends = Array.from(
    { length: options.backends },
    (_, index) => new DemoBackend({ name: `backend-${index + 1}` }),
  );
  const closeBackends = () => Promise.allSettled(backends.map((backend) => backend.close()));
  let config: SwitchyardConfig;
  try {
    const addresses = await Promise.all(backends.map((backend) => backend.listen()));
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
      shutdownGraceMs: 2_000,
    });
  } catch (error) {
    await closeBackends();
    throw error;
  }
  const level = process.env.SWITCHYARD_LOG_LEVEL ?? "warn";
  const logger = createLogger(LOG_LEVELS.includes(level as (typeof LOG_LEVELS)[number]) ? level : "warn");
  let runtime: Runtime;
  try {
    runtime = await startSwitchyard(config, { logger });
  } catch (error) {
    await closeBackends();
    if (error instanceof ListenError && error.reason === "EADDRINUSE") {
      throw new ListenError(
        "demo",
        error.address,
        new Error(
          `port ${options.port} is already in use; pick another with --port (e.g. switchyard demo --port ${options.port + 1}, or --port 0 for any free port)`,
        ),
      );
    }
    throw error;
  }
  const proxy = runtime.listeners[0];
  if (!proxy) throw new Error("the demo runtime has no listener");
  const proxyAddress = formatHostPort(proxy.host, proxy.port);
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
    ["npx switchyard algorithms", "# every algorithm and its options"],
  ].filter((row) => row.length > 0);
  process.stdout.write(
    [
      "Switchyard demo is running.",
      "",
      ...table(rows).map((row) => `  ${row}`),
      "",
      "Try:",
      ...table(tryRows).map((row) => `  ${row}`),
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

/** Prints an error the way operators expect; returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (isSwitchyardError(error)) {
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
    return error.code === ErrorCodes.CONFIG ? 2 : 1;
  }
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

/** Resolves with the first SIGINT or SIGTERM. */
function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/**
 * Runs `stop`; a second signal, or `stop` outlasting the grace period plus a
 * margin, forces the exit (code 1) instead of hanging.
 */
async function shutdown(graceMs: number, stop: () => Promise<unknown>): Promise<void> {
  const force = (reason: string) => {
    process.stderr.write(`error: ${reason}; exiting without finishing the shutdown\n`);
    process.exit(1);
  };
  const onSignal = (signal: NodeJS.Signals) => force(`${signal} received during shutdown`);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const timer = setTimeout(() => force("shutdown took too long"), graceMs + SHUTDOWN_MARGIN_MS);
  try {
    await stop();
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function configOption(): Option {
  return new Option("-c, --config <file>", "config file, YAML or JSON").env("SWITCHYARD_CONFIG");
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

function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  ];
}

function listenArgument(value: string): { host: string; port: number } {
  const parsed = parseListenAddress(value);
  if (!parsed) throw new InvalidArgumentError('expected "host:port" with a port from 0 to 65535.');
  return parsed;
}

function integerArgument(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === "" || !Number.isInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return number;
  };
}

function rateArgument(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < 0 || number > 1) {
    throw new InvalidArgumentError("expected a number from 0 to 1.");
  }
  return number;
}

function optionListings(definition: AlgorithmDefinition): OptionListing[] {
  const schema = describeOptions(definition) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const option: OptionListing = {
      name,
      type: schemaType(property),
      required: schema.required?.includes(name) ?? false,
    };
    if (property.default !== undefined) option.default = property.default;
    if (typeof property.description === "string") option.description = property.description;
    return option;
  });
}

/** A short type name for a JSON Schema property: `integer`, `number 0..1`, `"a" | "b"`. */
function schemaType(property: Record<string, unknown>): string {
  if (Array.isArray(property.enum)) return property.enum.map((value) => JSON.stringify(value)).join(" | ");
  if (property.const !== undefined) return JSON.stringify(property.const);
  const variants = (property.anyOf ?? property.oneOf) as Record<string, unknown>[] | undefined;
  if (Array.isArray(variants)) return variants.map(schemaType).join(" | ");
  const type = Array.isArray(property.type) ? property.type.join(" | ") : String(property.type ?? "any");
  const min = property.minimum ?? property.exclusiveMinimum;
  const max = property.maximum ?? property.exclusiveMaximum;
  if ((type === "number" || type === "integer") && (min !== undefined || max !== undefined)) {
    return `${type} ${min ?? ""}..${max ?? ""}`;
  }
  if (type === "array" && property.items && typeof property.items === "object") {
    return `${schemaType(property.items as Record<string, unknown>)}[]`;
  }
  return type;
}

/** Left-aligned columns, two spaces apart; trailing spaces trimmed. */
function table(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function algorithmName(spec: string | { name: string }): string {
  return typeof spec === "string" ? spec : spec.name;
}

function packageVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    return String((JSON.parse(text) as { version?: unknown }).version ?? "0.0.0");
  } catch {
    return "0.0.0";
  }
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
