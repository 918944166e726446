/**
 * The etcd3 client as Switchyard uses it, and etcd failures as one-line coded
 * errors. etcd3 1.1.2 has no working dial timeout and its watcher backs off
 * up to 30 s between reconnects, so every unary call gets a deadline
 * (`requestTimeoutMs`), the watch reconnects at most a second apart, and gRPC
 * keepalives notice a silently dead connection. The client's own circuit
 * breaker stays: after 3 failed calls it refuses calls for 5 s, which makes
 * writes fail fast while etcd is down (and for up to 5 s after it returns).
 */
import { Etcd3, GRPCDeadlineExceededError, GRPCUnavailableError, type IOptions } from "etcd3";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";

export interface EtcdClientOptions {
  endpoints: readonly string[];
  /** Deadline of each read or write. */
  requestTimeoutMs: number;
}

type WatchBackoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

/** Watch reconnects: 100 ms, doubling, at most 1 s apart. */
const WATCH_BACKOFF_MIN_MS = 100;
const WATCH_BACKOFF_MAX_MS = 1_000;

function watchBackoff(duration = WATCH_BACKOFF_MIN_MS): WatchBackoff {
  return { duration, next: () => watchBackoff(Math.min(duration * 2, WATCH_BACKOFF_MAX_MS)) };
}

export function createEtcdClient(options: EtcdClientOptions): Etcd3 {
  return new Etcd3({
    hosts: [...options.endpoints],
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + options.requestTimeoutMs },
    faultHandling: { watchBackoff: watchBackoff() },
    grpcOptions: { "grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": 5_000 },
  });
}

/** True when `error` says etcd could not be reached (as opposed to etcd refusing the request). */
export function isUnreachable(error: unknown): boolean {
  return (
    error instanceof GRPCUnavailableError ||
    error instanceof GRPCDeadlineExceededError ||
    (error instanceof Error && "isBrokenCircuitError" in error) ||
    (error instanceof Error && /\bE(?:CONNREFUSED|HOSTUNREACH|NETUNREACH|TIMEDOUT)\b/.test(error.message))
  );
}

/** A short reason for an etcd failure, without gRPC's boilerplate. */
export function describeEtcdError(error: unknown, requestTimeoutMs?: number): string {
  if (error instanceof GRPCDeadlineExceededError) {
    return requestTimeoutMs === undefined ? "no answer in time" : `no answer within ${requestTimeoutMs} ms`;
  }
  if (error instanceof Error && "isBrokenCircuitError" in error) {
    return "recent calls failed, so the client waits up to 5 s before trying again";
  }
  const message = error instanceof Error ? error.message : String(error);
  const system = /connect (E[A-Z]+) (\S+?)\.?(?:\s|$)/.exec(message);
  if (system) return `${system[1] === "ECONNREFUSED" ? "connection refused" : system[1]} (${system[2]})`;
  return message.replace(/^\d+ [A-Z_]+: /, "").trim() || "unknown error";
}

/**
 * An etcd failure as SY_ERR_CONFIG_STORE: "etcd at URL is unreachable: …"
 * or "etcd at URL refused …: …". Coded errors pass through unchanged.
 */
export function toStoreError(error: unknown, options: EtcdClientOptions, what: string): SwitchyardError {
  if (error instanceof SwitchyardError) return error;
  const where = `etcd at ${options.endpoints.join(", ")}`;
  const reason = describeEtcdError(error, options.requestTimeoutMs);
  return new SwitchyardError(
    ErrorCodes.CONFIG_STORE,
    isUnreachable(error)
      ? `${where} is unreachable (${what}): ${reason}`
      : `${where} refused ${what}: ${reason}`,
    { unreachable: isUnreachable(error) },
  );
}
