/**
 * Command check (config and CLI): runs a shell command per backend, with the
 * backend named in the environment (`SWITCHYARD_BACKEND_HOST`, `_PORT`, `_ID`);
 * exit status 0 passes. The command runs in its own process group, so at the
 * timeout the whole group is killed, children included. The tail of its
 * stderr becomes the failure's detail.
 */
import { spawn } from "node:child_process";
import type { Backend } from "../core/backend.js";
import type { CheckOutcome, HealthCheck } from "./check.js";

const STDERR_TAIL = 200;

export class CommandHealthCheck implements HealthCheck {
  readonly kind = "command";
  readonly command: string;

  constructor(command: string) {
    this.command = command;
  }

  check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve({ ok: false, detail: "timed out" });
      const child = spawn(this.command, {
        shell: true,
        detached: true,
        stdio: ["ignore", "ignore", "pipe"],
        env: {
          ...process.env,
          SWITCHYARD_BACKEND_HOST: backend.host,
          SWITCHYARD_BACKEND_PORT: String(backend.port),
          SWITCHYARD_BACKEND_ID: backend.id,
        },
      });
      let stderr = "";
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL);
      });
      let done = false;
      const finish = (outcome: CheckOutcome) => {
        if (done) return;
        done = true;
        signal.removeEventListener("abort", onAbort);
        child.stderr?.destroy();
        resolve(outcome);
      };
      const onAbort = () => {
        killGroup(child.pid);
        finish({ ok: false, detail: "timed out" });
      };
      signal.addEventListener("abort", onAbort, { once: true });
      child.once("error", (error) => finish({ ok: false, detail: error.message }));
      child.once("close", (code, killedBy) => {
        if (code === 0) return finish({ ok: true, detail: "exit 0" });
        const status = code === null ? `killed by ${killedBy}` : `exit ${code}`;
        const tail = stderr.trim();
        finish({ ok: false, detail: tail ? `${status}: ${tail}` : status });
      });
    });
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
}
