/**
 * Child processes started by a bench: every one is tracked here and stopped by
 * its own pid at the end, on error, or on SIGINT/SIGTERM. Children may be
 * pinned to a CPU with `taskset -c N` (taskset execs the command, so the pid we
 * hold is the real process's). Node children talk over IPC: they announce
 * `{ type: "ready", ... }` and answer requests carrying an `id`.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";

const running = new Set();
let handlersInstalled = false;
let nextRequestId = 1;

/** True when `command` can be run from PATH. */
export function hasCommand(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

export const TASKSET = hasCommand("taskset");

/**
 * The benches pin where they can (taskset and two cores): the proxy under test
 * on CPU 0, backends and load generators on CPU 1.
 */
export const PINNED = TASKSET && os.cpus().length >= 2;
export const PROXY_CPU = PINNED ? 0 : undefined;
export const LOAD_CPU = PINNED ? 1 : undefined;

/**
 * The V8 flags `switchyard proxy` adds on Node 22.15+ (src/cli/v8-flags.ts), as it
 * would choose them in a bench target: one CPU where the benches pin, else every CPU.
 */
export const CLI_FLAGS = await cliFlags(PINNED ? 1 : os.availableParallelism());

/** The bench row of the proxy started with CLI_FLAGS. */
export const CLI_TARGET_LABEL = `Switchyard HttpProxy, ${CLI_FLAGS.join(" ")} (as \`switchyard proxy\` runs on Node 22.15+)`;

/** Empty before `npm run build` (the benches then skip Switchyard's targets and say why). */
async function cliFlags(cpus) {
  const rule = new URL("../../dist/cli/v8-flags.js", import.meta.url);
  if (!existsSync(rule)) return [];
  const { launchFlags } = await import(rule.href);
  return launchFlags(cpus);
}

/**
 * Starts a child. `cpu` pins it with taskset when taskset exists; `ipc` opens a
 * Node IPC channel (for Node children). Returns a handle with the ChildProcess,
 * its pid, and the last lines of its output (for error messages).
 */
export function startChild({ name, command, args = [], cpu, ipc = false, env, cwd }) {
  installHandlers();
  const pinned = cpu !== undefined && TASKSET;
  const file = pinned ? "taskset" : command;
  const argv = pinned ? ["-c", String(cpu), command, ...args] : args;
  const child = spawn(file, argv, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  const handle = {
    name,
    child,
    pid: child.pid,
    cpu: pinned ? cpu : undefined,
    output: [],
    exited: false,
    exitCode: null,
    messages: [],
    waiters: [],
  };
  const keep = (chunk) => {
    for (const line of chunk.toString().split("\n")) {
      if (line.trim() === "") continue;
      handle.output.push(line);
      if (handle.output.length > 40) handle.output.shift();
    }
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.on("message", (message) => {
    const waiter = handle.waiters.find((w) => w.match(message));
    if (waiter) {
      handle.waiters.splice(handle.waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    } else {
      handle.messages.push(message);
    }
  });
  child.on("error", (error) => {
    handle.output.push(`spawn error: ${error.message}`);
  });
  child.on("exit", (code, signal) => {
    handle.exited = true;
    handle.exitCode = code ?? signal;
    running.delete(handle);
    for (const waiter of handle.waiters.splice(0)) {
      waiter.reject(new Error(`${name} exited (${handle.exitCode}) before answering:\n${tail(handle)}`));
    }
  });
  running.add(handle);
  return handle;
}

/** The last lines the child printed, for error messages. */
export function tail(handle) {
  return handle.output.slice(-15).join("\n");
}

/** Resolves with the first IPC message matching `match`, or rejects after `timeoutMs`. */
export function waitMessage(handle, match, timeoutMs = 15_000) {
  const queued = handle.messages.findIndex(match);
  if (queued >= 0) return Promise.resolve(handle.messages.splice(queued, 1)[0]);
  if (handle.exited) {
    return Promise.reject(new Error(`${handle.name} exited (${handle.exitCode}):\n${tail(handle)}`));
  }
  return new Promise((resolve, reject) => {
    const waiter = {
      match,
      resolve: (message) => {
        clearTimeout(timer);
        if (message.type === "error") reject(new Error(`${handle.name}: ${message.message}`));
        else resolve(message);
      },
      reject: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    };
    const timer = setTimeout(() => {
      handle.waiters.splice(handle.waiters.indexOf(waiter), 1);
      reject(new Error(`${handle.name}: no answer within ${timeoutMs} ms:\n${tail(handle)}`));
    }, timeoutMs);
    handle.waiters.push(waiter);
  });
}

/** Waits for the child's `ready` (or `error`) message. */
export function waitReady(handle, timeoutMs = 15_000) {
  return waitMessage(handle, (m) => m.type === "ready" || m.type === "error", timeoutMs);
}

/** The Node binary the proxy and connection benches run their Node targets on: BENCH_NODE, else this Node. */
export const BENCH_NODE = process.env.BENCH_NODE || process.execPath;

/** The version BENCH_NODE reports ("v24.1.0"). */
export function benchNodeVersion() {
  return BENCH_NODE === process.execPath
    ? process.version
    : execFileSync(BENCH_NODE, ["-p", "process.version"]).toString().trim();
}

/**
 * Starts a Node bench script (absolute path) with --expose-gc and `nodeFlags`,
 * pinned to `cpu`, on `node` (default: this Node); resolves once it is ready.
 */
export async function startNodeScript(name, script, args, cpu, nodeFlags = [], node = process.execPath) {
  const handle = startChild({
    name,
    command: node,
    args: ["--expose-gc", ...nodeFlags, script, ...args],
    cpu,
    ipc: true,
  });
  const ready = await waitReady(handle);
  return { handle, port: ready.port, ready };
}

/** Sends `message` with a fresh id and resolves with the reply carrying that id. */
export function request(handle, message, timeoutMs = 60_000) {
  const id = nextRequestId++;
  const reply = waitMessage(handle, (m) => m.id === id, timeoutMs);
  handle.child.send({ ...message, id });
  return reply;
}

/** Stops one child: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stopChild(handle, graceMs = 2_000) {
  if (handle.exited) return;
  const exited = new Promise((resolve) => handle.child.once("exit", resolve));
  handle.child.kill("SIGTERM");
  const timer = setTimeout(() => {
    if (!handle.exited) handle.child.kill("SIGKILL");
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every child this process started and is still running. */
export async function stopAll() {
  await Promise.all([...running].map((handle) => stopChild(handle)));
}

function killAllNow() {
  for (const handle of running) {
    if (!handle.exited) handle.child.kill("SIGKILL");
  }
}

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      killAllNow();
      process.exit(130);
    });
  }
}
