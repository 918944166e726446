import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mixSigned, signedHashFunctions } from "./hash-functions.js";
import { rendezvousHash, rendezvousMemberHash, rendezvousScore } from "./rendezvous.js";
import { type RankingFilter, RendezvousRanking } from "./rendezvous-ranking.js";

const hash = signedHashFunctions.xxhash;

/** Reference: members sorted by (score, pair hash), best first, by the published helpers. */
function referenceOrder(keyHash: number, ids: readonly string[], weights: readonly number[]): number[] {
  const key = (i: number) => {
    const member = rendezvousMemberHash(ids[i] as string, hash);
    return { score: rendezvousScore(keyHash, member, weights[i]), pair: rendezvousHash(keyHash, member) };
  };
  return ids
    .map((_, i) => i)
    .sort((a, b) => {
      const x = key(a);
      const y = key(b);
      return y.score - x.score || y.pair - x.pair;
    });
}

function filterOf(eligible: ReadonlySet<number>, preferred: ReadonlySet<number>): RankingFilter {
  return { eligible: (i) => eligible.has(i), preferred: (i) => preferred.has(i) };
}

describe("rendezvous ranking", () => {
  it("finds the same top k and best preferred member as a full sort, for any weights and filters", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(0, 0.5, 1, 1, 1, 1, 2, 3, 7.25), { minLength: 1, maxLength: 150 }),
        fc.integer(),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.nat(9), { minLength: 150, maxLength: 150 }),
        fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { minLength: 150, maxLength: 150 }),
        (weights, keyHash, k, levels, warm) => {
          const ids = weights.map((_, i) => `m${i}`);
          const ranking = new RendezvousRanking(6);
          ranking.setMembers(ids, weights, hash);
          // Every third member warms up: its weight lowered, scored exactly.
          const effective = weights.map((weight, i) => (i % 3 === 2 ? weight * (warm[i] as number) : weight));
          effective.forEach((weight, i) => {
            if (i % 3 === 2) ranking.setWeight(i, weight);
          });
          // Levels 0-1: not eligible; 2-7: eligible; 8-9: also preferred (rare, so often far down the order).
          const eligible = new Set(ids.map((_, i) => i).filter((i) => (levels[i] as number) >= 2));
          const preferred = new Set([...eligible].filter((i) => (levels[i] as number) >= 8));
          const order = referenceOrder(keyHash, ids, effective).filter((i) => eligible.has(i));
          const count = ranking.scan(keyHash, k, filterOf(eligible, preferred), true);
          expect(Array.from({ length: count }, (_, r) => ranking.at(r))).toEqual(order.slice(0, k));
          expect(ranking.preferred).toBe(order.find((i) => preferred.has(i)) ?? -1);
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });

  it("ranks exactly with more distinct weights than it has classes", () => {
    const weights = Array.from({ length: 60 }, (_, i) => 1 + i * 0.125);
    const ids = weights.map((_, i) => `w${i}`);
    const ranking = new RendezvousRanking(5);
    ranking.setMembers(ids, weights, hash);
    const all = new Set(ids.map((_, i) => i));
    for (let key = 0; key < 500; key++) {
      const keyHash = mixSigned(key * 2654435761);
      const count = ranking.scan(keyHash, 5, filterOf(all, all), true);
      expect(Array.from({ length: count }, (_, r) => ranking.at(r))).toEqual(
        referenceOrder(keyHash, ids, weights).slice(0, 5),
      );
    }
  });

  it("returns nothing when no member is eligible, and restores a member's class weight", () => {
    const ranking = new RendezvousRanking(2);
    ranking.setMembers(["a", "b", "c"], [1, 1, 2], hash);
    expect(ranking.scan(123, 2, filterOf(new Set(), new Set()), true)).toBe(0);
    expect(ranking.preferred).toBe(-1);
    ranking.setWeight(2, 0.5);
    expect(ranking.weightOf(2)).toBe(0.5);
    ranking.setWeight(2, 2);
    const all = new Set([0, 1, 2]);
    ranking.scan(99, 2, filterOf(all, all), false);
    expect([ranking.at(0), ranking.at(1)]).toEqual(
      referenceOrder(99, ["a", "b", "c"], [1, 1, 2]).slice(0, 2),
    );
    expect(ranking.preferred).toBe(-1);
  });
});
