/**
 * Running the `switchyard` command as users run it: `node bin/switchyard.js …`
 * against the compiled dist/ (test/global-setup.ts builds it), with the
 * parent's SWITCHYARD_* variables removed. Every process launched here is
 * tracked; `killLaunched()` (in afterEach) SIGKILLs any still running.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "bin", "switchyard.js");
export const STEP_TIMEOUT_MS = 10_000;

const children = new Set<ChildProcess>();

/** SIGKILLs every launched process still running. */
export function killLaunched(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (bounded). */
export function run(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const child = launch(args, env);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.process.kill("SIGKILL");
      reject(new Error(`switchyard ${args.join(" ")} did not finish`));
    }, STEP_TIMEOUT_MS);
    child.process.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout: child.stdout(), stderr: child.stderr() });
    });
  });
}

export interface Launched {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `test`. */
  line(test: (line: string) => boolean): Promise<string>;
  /** Resolves with the exit code. */
  exit(): Promise<number | null>;
}

export function launch(args: string[], env: Record<string, string> = {}): Launched {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  const waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let pending = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      for (const waiter of [...waiters]) {
        if (waiter.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolvePromise) =>
    child.on("close", (code) => resolvePromise(code)),
  );
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    line(test) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching line; stdout:\n${stdout}\nstderr:\n${stderr}`)),
          STEP_TIMEOUT_MS,
        );
        waiters.push({
          test,
          resolve: (line) => {
            clearTimeout(timer);
            resolvePromise(line);
          },
        });
        void exited.then(() => reject(new Error(`exited early; stdout:\n${stdout}\nstderr:\n${stderr}`)));
      });
    },
    exit() {
      return Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`did not exit; stderr:\n${stderr}`)), STEP_TIMEOUT_MS),
        ),
      ]);
    },
  };
}

/** The parent's environment without SWITCHYARD_* variables, so the host cannot change results. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("SWITCHYARD_")) env[name] = value;
  }
  return env;
}

/** A JSON log line with the given message. */
export function logLine(msg: string): (line: string) => boolean {
  return (line) => {
    try {
      return (JSON.parse(line) as { msg?: unknown }).msg === msg;
    } catch {
      return false;
    }
  };
}
