/**
 * Which pool an admin request means. A named pool must exist (404 otherwise);
 * an unnamed one is the only pool, or, for a request about one backend, the
 * one pool that holds that backend. Anything ambiguous is a 400 that lists
 * the choices.
 */
import type { Balancer } from "../balancer/balancer.js";
import { ErrorCodes } from "../core/errors.js";
import { AdminError, AdminErrorCodes } from "./admin-errors.js";

export interface PoolTarget {
  name: string;
  balancer: Balancer;
}

export function resolvePool(
  balancers: ReadonlyMap<string, Balancer>,
  name: string | undefined,
  backendId?: string,
): PoolTarget {
  const names = [...balancers.keys()];
  if (name !== undefined) {
    const balancer = balancers.get(name);
    if (!balancer) throw unknownPool(name, names);
    return { name, balancer };
  }
  if (balancers.size === 1) {
    const [only] = balancers;
    const [onlyName, balancer] = only as [string, Balancer];
    return { name: onlyName, balancer };
  }
  if (balancers.size === 0) {
    throw new AdminError(AdminErrorCodes.UNKNOWN_POOL, "there are no pools");
  }
  if (backendId !== undefined) {
    const holders = [...balancers].filter(([, balancer]) => balancer.pool.get(backendId) !== undefined);
    if (holders.length === 1) {
      const [holderName, balancer] = holders[0] as [string, Balancer];
      return { name: holderName, balancer };
    }
    if (holders.length === 0) {
      throw new AdminError(ErrorCodes.UNKNOWN_BACKEND, `no backend with id "${backendId}" in any pool`);
    }
    throw new AdminError(
      ErrorCodes.BAD_REQUEST,
      `pool: backend "${backendId}" is in several pools (${holders.map(([holder]) => holder).join(", ")}); say which with pool`,
    );
  }
  throw new AdminError(
    ErrorCodes.BAD_REQUEST,
    `pool: missing; expected one of the pools: ${names.join(", ")} (required when there are several)`,
  );
}

function unknownPool(name: string, names: readonly string[]): AdminError {
  const known = names.length === 0 ? "there are no pools" : `pools: ${names.join(", ")}`;
  return new AdminError(AdminErrorCodes.UNKNOWN_POOL, `no pool named "${name}"; ${known}`);
}
