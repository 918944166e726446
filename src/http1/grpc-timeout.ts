/**
 * The `grpc-timeout` request field, both ways (grpc/grpc PROTOCOL-HTTP2.md):
 * a value of at most 8 ASCII digits followed by a unit, H (hours), M
 * (minutes), S (seconds), m (milliseconds), u (microseconds) or n
 * (nanoseconds), without spaces. The exchange takes the client's field out
 * of the upstream head and reads it as a duration in milliseconds (anything
 * else is malformed and dropped); the upstream connection writes the time
 * the call has left when it sends the request, in the finest unit among m,
 * S, M, H that holds it in 8 digits, rounded up, as gRPC's own clients do.
 * "0" reads as an expired deadline, as gRPC implementations read it, though
 * the spec asks for a positive value.
 */
import { performance } from "node:perf_hooks";

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

const TIMEOUT_VALUE = /^(\d{1,8})([HMSmun])$/;

/** Units written, finest first. */
const WRITTEN_UNITS = ["m", "S", "M", "H"] as const;
const MAX_VALUE = 99_999_999;

/** The duration in ms a `grpc-timeout` value stands for; undefined when it is malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = TIMEOUT_VALUE.exec(value.trim());
  if (match === null) return undefined;
  return Number(match[1]) * (MS_PER_UNIT[match[2] as string] as number);
}

/** The `grpc-timeout` value for `ms` left (at least 1 ms: the deadline's own timer answers past it). */
export function formatGrpcTimeout(ms: number): string {
  for (const unit of WRITTEN_UNITS) {
    const value = Math.max(1, Math.ceil(ms / (MS_PER_UNIT[unit] as number)));
    if (value <= MAX_VALUE) return `${value}${unit}`;
  }
  return `${MAX_VALUE}H`;
}

/** The `grpc-timeout` value for the time left until `deadline` (a `performance.now()` time). */
export function grpcTimeoutUntil(deadline: number): string {
  return formatGrpcTimeout(deadline - performance.now());
}

/**
 * Removes the `grpc-timeout` fields from a flat upstream header list (the
 * proxy sends the time left instead) and gives the client's timeout in ms;
 * undefined when there was none, or a malformed or repeated one, which is
 * dropped as if absent: passed on, it would make a strict server fail a call
 * the proxy serves.
 */
export function takeGrpcTimeout(headers: string[]): number | undefined {
  let value: string | undefined;
  let count = 0;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const name = headers[i] as string;
    if (name.length !== 12 || name.toLowerCase() !== "grpc-timeout") continue;
    value = headers[i + 1];
    count++;
    headers.splice(i, 2);
  }
  return count === 1 ? parseGrpcTimeout(value as string) : undefined;
}
