/**
 * Rendezvous (highest random weight) hashing (Thaler & Ravishankar, "Using
 * name-based mappings to increase hit rates", IEEE/ACM ToN 1998): every
 * (key, member) pair gets a pseudo-random score and the key goes to the
 * member with the highest. Removing a member moves only its own keys, and
 * there is no table to build, at O(members) per key.
 *
 * Weights use the logarithmic method (Schindelhauer & Schomaker, "Weighted
 * distributed hash tables", SPAA 2005): score = weight / −ln(u) with u the
 * pair's hash in (0, 1), which gives each member a share of keys equal to its
 * share of the total weight. Hashes of keys and members are computed once by
 * the caller (`mix32(hash(id))`), so scoring a pair is a few integer
 * operations and a logarithm, with nothing allocated.
 */
import { type HashFunction, mix32 } from "./hash-functions.js";

const TWO_TO_32 = 4294967296;

/** A member's hash for scoring: computed once per member. */
export function rendezvousMemberHash(id: string, hash: HashFunction): number {
  return mix32(hash(id));
}

/** The pair's 32-bit hash: the member hash is mixed again so key ⊕ member patterns do not carry over. */
export function rendezvousHash(keyHash: number, memberHash: number): number {
  return mix32(keyHash ^ mix32((memberHash + 0x9e3779b9) | 0));
}

/** The pair's score; the highest-scoring member wins. Weight ≤ 0 scores 0 (never wins over a positive weight). */
export function rendezvousScore(keyHash: number, memberHash: number, weight = 1): number {
  if (!(weight > 0)) return 0;
  const unit = (rendezvousHash(keyHash, memberHash) + 0.5) / TWO_TO_32;
  return weight / -Math.log(unit);
}
