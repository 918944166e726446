/**
 * Where configuration comes from, in order of precedence: a YAML or JSON file,
 * then `SWITCHYARD_*` environment variables, then CLI flags; the merged raw
 * object is validated once by the schema. Overrides edit the raw object (before
 * validation), so an invalid override is reported like an invalid file value,
 * and file errors point at the line and column they come from.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { findAlgorithm } from "../algorithms/registry.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { isRecord } from "../core/is-record.js";
import { fromDwcpForm, isDwcpForm } from "./dwcp-form.js";
import { applySwarmGuardEnvAliases, SWARMGUARD_ENV_ALIASES, swarmGuardEnvFlags } from "./env-aliases.js";
import { type VariablesAt, variablesBehind } from "./env-origin.js";
import { type ConfigIssue, formatConfigIssues, type PathSegment, toConfigIssues, valueAt } from "./errors.js";
import { checkNesting, expandAliases } from "./parse-limits.js";
import { configKeysAt, configSchema, type SwitchyardConfig } from "./schema.js";

/** Name given to the listener and pool that overrides create when the config has none. */
export const DEFAULT_NAME = "main";
/** Listen address of a listener created by overrides without `--listen`. */
export const DEFAULT_LISTEN = "127.0.0.1:8080";

export type Env = Readonly<Record<string, string | undefined>>;

/** Quick-use flags (`switchyard proxy --listen … --backend … --algorithm …`). */
export interface ConfigFlags {
  listen?: string;
  backends?: readonly string[];
  algorithm?: string;
  protocol?: string;
  /** log.format: json, pretty or auto. */
  logFormat?: string;
}

/** Every override the environment or the CLI can make. */
export interface ConfigOverrides extends ConfigFlags {
  adminListen?: string;
  adminToken?: string;
  adminAllowedHosts?: readonly string[];
  logLevel?: string;
}

/** The environment variables read by `applyEnvOverrides`, for help texts and the README. */
export const ENV_OVERRIDES: readonly { name: string; description: string }[] = [
  { name: "SWITCHYARD_LISTEN", description: "listen address (host:port) of the first listener" },
  { name: "SWITCHYARD_ALGORITHM", description: "algorithm name for every pool" },
  {
    name: "SWITCHYARD_BACKENDS",
    description: "comma-separated backend addresses replacing the backends of the first listener's pool",
  },
  { name: "SWITCHYARD_ADMIN_LISTEN", description: "admin API listen address (host:port)" },
  { name: "SWITCHYARD_ADMIN_TOKEN", description: "bearer token required for admin API writes" },
  {
    name: "SWITCHYARD_ADMIN_ALLOWED_HOSTS",
    description: "comma-separated host names the admin API answers besides localhost and IP addresses",
  },
  { name: "SWITCHYARD_LOG_LEVEL", description: "log level: fatal, error, warn, info, debug, trace, silent" },
  { name: "SWITCHYARD_LOG_FORMAT", description: "log format: json, pretty, or auto (pretty on a terminal)" },
  ...SWARMGUARD_ENV_ALIASES,
];

/** A parsed config file with a way back from a field path to its line and column. */
export interface ConfigSource {
  file: string;
  data: unknown;
  /** Line and column of the value at `segments` (of its key, with `atKey`), or of its closest ancestor. */
  locate(segments: readonly PathSegment[], atKey?: boolean): { line: number; column: number } | undefined;
}

/** Reads and parses a config file: `.json` as JSON, anything else as YAML (a JSON superset). */
export async function loadConfigFile(path: string): Promise<unknown> {
  return (await readConfigSource(path)).data;
}

/** Like `loadConfigFile`, keeping positions so validation errors can name the line. */
export async function readConfigSource(path: string): Promise<ConfigSource> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (error as Error).message;
    throw new SwitchyardError(ErrorCodes.CONFIG, `cannot read config file ${path}: ${reason}`, {
      file: path,
    });
  }
  const json = extname(path).toLowerCase() === ".json";
  checkNesting(text, path, json);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true });
  let data: unknown;
  if (json) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const position = /at position (\d+)/.exec(message);
      const { line, col } = lineCounter.linePos(position ? Number(position[1]) : text.length);
      throw new SwitchyardError(
        ErrorCodes.CONFIG,
        `cannot parse ${path}:${line}:${col}: invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, "")}`,
        { file: path, line, column: col },
      );
    }
  } else {
    if (document.errors.length > 0) {
      const problems = document.errors.map((error) => {
        const at = error.linePos?.[0];
        const where = at ? `${path}:${at.line}:${at.col}` : path;
        const what = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
        return `  - ${where}: ${what} (${error.code})`;
      });
      const first = document.errors[0]?.linePos?.[0];
      throw new SwitchyardError(ErrorCodes.CONFIG, `cannot parse ${path} as YAML:\n${problems.join("\n")}`, {
        file: path,
        line: first?.line,
        column: first?.col,
      });
    }
    data = expandAliases(document, path);
  }
  if (data === null || data === undefined) data = {};
  return {
    file: path,
    data,
    locate(segments, atKey = false) {
      if (document.errors.length > 0) return undefined;
      for (let length = segments.length; length >= 0; length--) {
        const node =
          length === 0
            ? document.contents
            : atKey && length === segments.length
              ? keyNode(document.getIn(segments.slice(0, -1), true), segments[length - 1])
              : document.getIn(segments.slice(0, length), true);
        const offset = (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
        if (offset !== undefined) {
          const { line, col } = lineCounter.linePos(offset);
          return { line, column: col };
        }
      }
      return undefined;
    },
  };
}

/**
 * Applies `SWITCHYARD_*` variables and SwarmGuard's aliases (see
 * `ENV_OVERRIDES`, `env-aliases.ts`) to a raw config and returns a new
 * object; `raw` is not modified. Empty variables are ignored; a `SWITCHYARD_*`
 * variable wins over an alias of the same field.
 */
export function applyEnvOverrides(raw: unknown, env: Env = process.env): Record<string, unknown> {
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const backends = read("SWITCHYARD_BACKENDS");
  const allowedHosts = read("SWITCHYARD_ADMIN_ALLOWED_HOSTS");
  const swarmGuard = swarmGuardEnvFlags(raw, env);
  const config = applyOverrides(raw, {
    listen: read("SWITCHYARD_LISTEN") ?? swarmGuard.listen,
    algorithm: read("SWITCHYARD_ALGORITHM") ?? swarmGuard.algorithm,
    backends: backends === undefined ? swarmGuard.backends : splitList(backends),
    adminListen: read("SWITCHYARD_ADMIN_LISTEN"),
    adminToken: read("SWITCHYARD_ADMIN_TOKEN"),
    adminAllowedHosts: allowedHosts === undefined ? undefined : splitList(allowedHosts),
    logLevel: read("SWITCHYARD_LOG_LEVEL") ?? swarmGuard.logLevel,
    logFormat: read("SWITCHYARD_LOG_FORMAT"),
  });
  return applySwarmGuardEnvAliases(config, env, backends === undefined && swarmGuard.backends !== undefined);
}

/** Whether the environment alone names backends (SWITCHYARD_BACKENDS, or SwarmGuard's WORKER_NODES). */
export function environmentNamesBackends(env: Env): boolean {
  return Boolean(env.SWITCHYARD_BACKENDS?.trim() || env.WORKER_NODES?.trim());
}

/** A raw config from flags alone: one listener (default 127.0.0.1:8080) and one pool, both named `main`. */
export function configFromFlags(flags: ConfigFlags): Record<string, unknown> {
  return applyOverrides({}, flags);
}

/** Applies CLI flags over a raw config (the highest precedence); returns a new object. */
export function applyFlagOverrides(raw: unknown, flags: ConfigFlags): Record<string, unknown> {
  return applyOverrides(raw, flags);
}

/**
 * Applies overrides to a copy of `raw`. Missing structure is created: backends
 * without a pool make pool `main`; a listen address, protocol or backends
 * without a listener make listener `main` on 127.0.0.1:8080.
 */
export function applyOverrides(raw: unknown, overrides: ConfigOverrides): Record<string, unknown> {
  const config: Record<string, unknown> = isRecord(raw) ? structuredClone(raw) : {};
  const backends = overrides.backends?.filter((address) => address.trim() !== "");
  const hasBackends = backends !== undefined && backends.length > 0;

  if (hasBackends || overrides.listen !== undefined || overrides.protocol !== undefined) {
    const listeners = Array.isArray(config.listeners) ? config.listeners : [];
    config.listeners = listeners;
    if (listeners.length === 0) {
      const pools = isRecord(config.pools) ? Object.keys(config.pools) : [];
      listeners.push({ name: DEFAULT_NAME, listen: DEFAULT_LISTEN, pool: pools[0] ?? DEFAULT_NAME });
    }
    const first = listeners[0];
    if (isRecord(first)) {
      if (overrides.listen !== undefined) first.listen = overrides.listen;
      if (overrides.protocol !== undefined) first.protocol = overrides.protocol;
    }
  }

  if (hasBackends) {
    const pools = isRecord(config.pools) ? config.pools : {};
    config.pools = pools;
    const listeners = Array.isArray(config.listeners) ? config.listeners : [];
    const firstListener = listeners[0];
    const target =
      isRecord(firstListener) && typeof firstListener.pool === "string" && firstListener.pool in pools
        ? firstListener.pool
        : (Object.keys(pools)[0] ??
          (isRecord(firstListener) && typeof firstListener.pool === "string"
            ? firstListener.pool
            : DEFAULT_NAME));
    const pool = isRecord(pools[target]) ? pools[target] : {};
    pools[target] = pool;
    pool.backends = backends.map((address) => ({ address: address.trim() }));
  }

  if (overrides.algorithm !== undefined && isRecord(config.pools)) {
    for (const pool of Object.values(config.pools)) {
      if (!isRecord(pool)) continue;
      const current = pool.algorithm;
      const keep =
        isRecord(current) &&
        typeof current.name === "string" &&
        sameAlgorithm(current.name, overrides.algorithm);
      if (!keep) pool.algorithm = overrides.algorithm;
    }
  }

  if (
    overrides.adminListen !== undefined ||
    overrides.adminToken !== undefined ||
    overrides.adminAllowedHosts !== undefined
  ) {
    const admin = isRecord(config.admin) ? config.admin : {};
    config.admin = admin;
    if (overrides.adminListen !== undefined) admin.listen = overrides.adminListen;
    if (overrides.adminToken !== undefined) admin.token = overrides.adminToken;
    if (overrides.adminAllowedHosts !== undefined) admin.allowedHosts = [...overrides.adminAllowedHosts];
  }

  if (overrides.logLevel !== undefined || overrides.logFormat !== undefined) {
    const log = isRecord(config.log) ? config.log : {};
    config.log = log;
    if (overrides.logLevel !== undefined) log.level = overrides.logLevel;
    if (overrides.logFormat !== undefined) log.format = overrides.logFormat;
  }
  return config;
}

export interface ParseOptions {
  /** The file the raw config came from, so issues can name its line and column. */
  source?: ConfigSource;
  /** The environment variables behind a value, so issues can name them. */
  variablesAt?: VariablesAt;
}

/**
 * Validates a raw config and fills defaults. Throws SY_ERR_CONFIG with the
 * formatted issue list as message and the structured list in `details.issues`.
 */
export function parseConfig(raw: unknown, options: ParseOptions = {}): SwitchyardConfig {
  return parseAgainst(configSchema, raw, options);
}

/**
 * `parseConfig` against `schema`: the whole config schema, or one that checks
 * some top-level sections of it (so paths, key suggestions and file positions
 * read the same as for the whole file).
 */
export function parseAgainst<Schema extends z.ZodType>(
  schema: Schema,
  raw: unknown,
  options: ParseOptions = {},
): z.output<Schema> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issues = toConfigIssues(result.error.issues, raw, (path) => configKeysAt(path));
  if (options.variablesAt) nameVariables(issues, raw, options.variablesAt);
  if (options.source) {
    locateIssues(issues, raw, options.source);
    // Read top to bottom when every issue points into the file.
    if (issues.every((issue) => issue.location)) {
      issues.sort(
        (a, b) =>
          (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
          (a.location?.column ?? 0) - (b.location?.column ?? 0),
      );
    }
  }
  throw new SwitchyardError(ErrorCodes.CONFIG, formatConfigIssues(issues), { issues });
}

export interface ResolveOptions {
  /** Config file; optional when flags or the environment say enough. */
  file?: string;
  /** Environment for `SWITCHYARD_*` overrides; default none. */
  env?: Env;
  flags?: ConfigFlags;
}

/** File < environment < flags, then validation: the one way the CLI builds its config. */
export async function resolveConfig(options: ResolveOptions): Promise<SwitchyardConfig> {
  const { raw, ...parse } = await resolveRawConfig(options);
  return parseConfig(raw, parse);
}

/** A config before validation, with what `parseConfig` needs to say where a bad value came from. */
export interface RawConfig extends ParseOptions {
  raw: unknown;
}

const ENV_NAMES = ENV_OVERRIDES.map((variable) => variable.name);

/** File < environment < flags, not yet validated (a config store may still add pools). */
export async function resolveRawConfig(options: ResolveOptions): Promise<RawConfig> {
  const source = options.file === undefined ? undefined : await readConfigSource(options.file);
  const data: unknown = source?.data ?? {};
  const file: unknown = isDwcpForm(data) ? fromDwcpForm(data) : data;
  const { env, flags } = options;
  let raw = env ? applyEnvOverrides(file, env) : file;
  if (flags) raw = applyFlagOverrides(raw, flags);
  const variablesAt = env && variablesBehind(env, ENV_NAMES, (some) => applyEnvOverrides(file, some));
  return { raw, source, variablesAt };
}

/** Counts for `switchyard validate`. */
export function summarizeConfig(config: SwitchyardConfig): {
  listeners: number;
  pools: number;
  backends: number;
} {
  const pools = Object.values(config.pools);
  return {
    listeners: config.listeners.length,
    pools: pools.length,
    backends: pools.reduce((sum, pool) => sum + pool.backends.length, 0),
  };
}

/** Names the environment variables behind the value of each issue whose value they set. */
function nameVariables(issues: ConfigIssue[], raw: unknown, variablesAt: VariablesAt): void {
  for (const issue of issues) {
    const variables = variablesAt(issue.segments, valueAt(raw, issue.segments));
    if (variables.length > 0) issue.variables = variables;
  }
}

/** Adds file positions to issues whose value still is the one the file holds (not an override). */
function locateIssues(issues: ConfigIssue[], raw: unknown, source: ConfigSource): void {
  for (const issue of issues) {
    let segments = issue.segments;
    while (segments.length > 0 && valueAt(raw, segments) === undefined) segments = segments.slice(0, -1);
    if (!isDeepStrictEqual(valueAt(raw, segments), valueAt(source.data, segments))) continue;
    const position = source.locate(segments, issue.kind === "unknown-key" && segments === issue.segments);
    if (position) issue.location = { file: source.file, ...position };
  }
}

/** The key node of `key` in a YAML map node, if there is one. */
function keyNode(map: unknown, key: PathSegment | undefined): unknown {
  if (!isMap(map)) return undefined;
  return map.items.find((pair) => isScalar(pair.key) && pair.key.value === key)?.key;
}

function sameAlgorithm(a: string, b: string): boolean {
  if (a === b) return true;
  const definition = findAlgorithm(a);
  return definition !== undefined && definition === findAlgorithm(b);
}

function splitList(text: string): string[] {
  return text.split(/[\s,]+/).filter((item) => item !== "");
}
