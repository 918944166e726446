/**
 * `switchyard demo --backend-ports`: which port each demo backend listens
 * on. A list pins each backend (`9001,9002,9003`, as the ALPHA1/BETA1
 * balancer's demo used fixed ports), one port is the first of consecutive
 * ones, and without the flag the OS picks free ports (0).
 */
import { ErrorCodes } from "../core/errors.js";
import { UsageError } from "./arguments.js";

export const DEFAULT_DEMO_BACKENDS = 3;
const MAX_PORT = 65_535;

/** The port of each demo backend; `count` is `--backends` when given. */
export function demoBackendPorts(ports: readonly number[] | undefined, count: number | undefined): number[] {
  if (ports === undefined || ports.length === 0)
    return Array.from({ length: count ?? DEFAULT_DEMO_BACKENDS }, () => 0);
  if (ports.length === 1) {
    const base = ports[0] as number;
    const total = count ?? DEFAULT_DEMO_BACKENDS;
    if (base + total - 1 > MAX_PORT) {
      throw usage(`--backend-ports ${base} with ${total} backends would go past port ${MAX_PORT}`);
    }
    return Array.from({ length: total }, (_, index) => base + index);
  }
  if (count !== undefined && count !== ports.length) {
    throw usage(
      `--backend-ports lists ${ports.length} ports but --backends asks for ${count}; give one port per backend`,
    );
  }
  if (new Set(ports).size !== ports.length)
    throw usage(`--backend-ports lists a port twice: ${ports.join(",")}`);
  return [...ports];
}

function usage(message: string): UsageError {
  return new UsageError(ErrorCodes.INVALID_OPTIONS, message);
}
