/**
 * Runs a system tool the tests check files with (promtool, systemd-analyze):
 * asynchronously, bounded in time, with `input` on its standard input, and
 * resolves with its exit code and output whether it passed or not.
 */
import { execFile } from "node:child_process";

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runTool(file: string, args: readonly string[], input = ""): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") reject(error);
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
    child.stdin?.end(input);
  });
}
