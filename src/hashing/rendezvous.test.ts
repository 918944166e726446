import { describe, expect, it } from "vitest";
import { mix32, xxhash } from "./hash-functions.js";
import { rendezvousHash, rendezvousMemberHash, rendezvousScore } from "./rendezvous.js";

interface Member {
  id: string;
  hash: number;
  weight: number;
}

function members(count: number, weights: readonly number[] = []): Member[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `b${i}`,
    hash: rendezvousMemberHash(`b${i}`, xxhash),
    weight: weights[i] ?? 1,
  }));
}

function winner(keyHash: number, list: readonly Member[]): string {
  let best = list[0] as Member;
  let bestScore = -1;
  for (const member of list) {
    const score = rendezvousScore(keyHash, member.hash, member.weight);
    if (score > bestScore) {
      bestScore = score;
      best = member;
    }
  }
  return best.id;
}

const KEYS = Array.from({ length: 20_000 }, (_, i) => mix32(xxhash(`key-${i}`)));

function shares(list: readonly Member[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of KEYS) {
    const id = winner(key, list);
    counts.set(id, (counts.get(id) ?? 0) + 1 / KEYS.length);
  }
  return counts;
}

describe("rendezvous hashing", () => {
  it("scores a pair deterministically, higher weight scoring higher", () => {
    const [member] = members(1) as [Member];
    expect(rendezvousScore(123, member.hash)).toBe(rendezvousScore(123, member.hash));
    expect(rendezvousScore(123, member.hash, 2)).toBeCloseTo(2 * rendezvousScore(123, member.hash), 12);
    expect(rendezvousScore(123, member.hash, 0)).toBe(0);
    expect(rendezvousHash(1, member.hash)).not.toBe(rendezvousHash(2, member.hash));
  });

  it("shares keys evenly among equal members", () => {
    const measured = shares(members(10));
    for (const share of measured.values()) expect(Math.abs(share - 0.1)).toBeLessThanOrEqual(0.01);
  });

  it("shares keys in proportion to weight within 2 percentage points", () => {
    const weights = [1, 2, 3, 4];
    const measured = shares(members(4, weights));
    weights.forEach((weight, i) => {
      expect(Math.abs((measured.get(`b${i}`) ?? 0) - weight / 10)).toBeLessThanOrEqual(0.02);
    });
  });

  it("moves only the removed member's keys, and only new keys onto an added member", () => {
    const list = members(12);
    const before = KEYS.map((key) => winner(key, list));
    const removed = KEYS.map((key) => winner(key, list.slice(1)));
    before.forEach((id, i) => {
      if (id !== "b0") expect(removed[i]).toBe(id);
    });
    const added = KEYS.map((key) => winner(key, [...list, ...members(13).slice(12)]));
    before.forEach((id, i) => {
      if (added[i] !== id) expect(added[i]).toBe("b12");
    });
  });
});
