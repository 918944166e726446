import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mixSigned, xxhash } from "./hash-functions.js";
import { DEFAULT_TABLE_SIZE, isPrime, MaglevTable } from "./maglev.js";
import type { RingMember } from "./ring.js";

interface Member extends RingMember {
  id: string;
  weight: number;
}

function members(count: number, weights: readonly number[] = []): Member[] {
  return Array.from({ length: count }, (_, i) => ({ id: `b${i}`, weight: weights[i] ?? 1 }));
}

function tableOf(list: readonly Member[], tableSize?: number): MaglevTable<Member> {
  const table = new MaglevTable<Member>({ hash: xxhash, ...(tableSize ? { tableSize } : {}) });
  table.build(list);
  return table;
}

const KEYS = Int32Array.from({ length: 20_000 }, (_, i) => mixSigned(xxhash(`key-${i}`)));

function owners(table: MaglevTable<Member>): (string | undefined)[] {
  return Array.from(KEYS, (position) => table.lookup(position)?.id);
}

describe("MaglevTable", () => {
  it("fills every entry, giving equal-weight members counts within one of each other", () => {
    const list = members(7);
    const table = tableOf(list);
    const counts = list.map((member) => table.entriesOf(member));
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(DEFAULT_TABLE_SIZE);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it("gives weighted members their weight's share of entries within 0.5%", () => {
    const weights = [1, 2, 3, 4, 0.5, 7];
    const list = members(6, weights);
    const table = tableOf(list);
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    list.forEach((member) => {
      const share = table.entriesOf(member) / table.size;
      expect(Math.abs(share / (member.weight / total) - 1)).toBeLessThanOrEqual(0.005);
    });
  });

  it("leaves weight-0 members out", () => {
    const list = members(3, [1, 0, 1]);
    const table = tableOf(list);
    expect(table.memberCount).toBe(2);
    expect(table.entriesOf(list[1] as Member)).toBe(0);
  });

  it("depends on the member set only, not its order", () => {
    const list = members(20);
    expect(owners(tableOf([...list].reverse()))).toEqual(owners(tableOf(list)));
  });

  it("rebuilds on sync only when membership or a weight changed", () => {
    const list = members(4);
    const table = new MaglevTable<Member>({ hash: xxhash });
    expect(table.sync(list)).toBe(true);
    expect(table.sync([...list])).toBe(false);
    expect(table.sync(list.slice(1))).toBe(true);
    expect(table.sync(list.slice(1).map((member, i) => (i === 0 ? { ...member, weight: 2 } : member)))).toBe(
      true,
    );
  });

  it("removing 1 of N members remaps at most 1/N + 2% of keys, nearly all of them the removed member's", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.nat(), (n, pick) => {
        const list = members(n);
        const before = owners(tableOf(list));
        const removed = list[pick % n] as Member;
        const after = owners(tableOf(list.filter((member) => member !== removed)));
        let moved = 0;
        let movedBetweenSurvivors = 0;
        before.forEach((id, i) => {
          if (id === after[i]) return;
          moved++;
          if (id !== removed.id) movedBetweenSurvivors++;
        });
        expect(moved / KEYS.length).toBeLessThanOrEqual(1 / n + 0.02);
        expect(movedBetweenSurvivors / KEYS.length).toBeLessThanOrEqual(0.02);
      }),
      { numRuns: 25 },
    );
  });

  it("adding a member moves few keys between the old members", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), (n) => {
        const list = members(n);
        const before = owners(tableOf(list));
        const after = owners(tableOf([...list, { id: "new", weight: 1 }]));
        let ontoNew = 0;
        let between = 0;
        before.forEach((id, i) => {
          if (id === after[i]) return;
          if (after[i] === "new") ontoNew++;
          else between++;
        });
        expect(ontoNew / KEYS.length).toBeLessThanOrEqual(1 / (n + 1) + 0.02);
        expect(between / KEYS.length).toBeLessThanOrEqual(0.02);
      }),
      { numRuns: 25 },
    );
  });

  it("searches on to the next distinct accepted member, testing each member once", () => {
    const list = members(12);
    const table = tableOf(list);
    for (const position of KEYS.subarray(0, 300)) {
      const owner = table.lookup(position) as Member;
      const tested: Member[] = [];
      const next = table.find(
        position,
        (member) => {
          tested.push(member);
          return member !== owner;
        },
        undefined,
      );
      expect(next).toBeDefined();
      expect(next).not.toBe(owner);
      expect(tested).toEqual([owner, next]);
    }
    const tested: Member[] = [];
    expect(
      table.find(
        KEYS[0] as number,
        (member) => {
          tested.push(member);
          return false;
        },
        undefined,
      ),
    ).toBeUndefined();
    expect(tested.length).toBe(12);
    expect(new Set(tested).size).toBe(12);
  });

  it("spreads an unready member's keys over all the others", () => {
    const list = members(10);
    const table = tableOf(list);
    const down = list[0] as Member;
    const landed = new Map<string, number>();
    for (const position of KEYS) {
      if (table.lookup(position) !== down) continue;
      const next = table.find(position, (member) => member !== down, undefined) as Member;
      landed.set(next.id, (landed.get(next.id) ?? 0) + 1);
    }
    expect(landed.size).toBe(9);
    // About 2000 keys over 9 members: 222 each, sampling noise about ±15.
    for (const count of landed.values()) expect(Math.abs(count / 222 - 1)).toBeLessThan(0.25);
  });

  it("requires a prime table size", () => {
    expect(() => new MaglevTable<Member>({ hash: xxhash, tableSize: 65536 })).toThrow(/prime/);
    expect(isPrime(65537)).toBe(true);
    expect(isPrime(655373)).toBe(true);
    expect(isPrime(1)).toBe(false);
    expect(isPrime(9)).toBe(false);
    expect(tableOf(members(3), 13).size).toBe(13);
  });

  it("is empty before a build and holds 65537 entries in about 256 KB", () => {
    const table = new MaglevTable<Member>({ hash: xxhash });
    expect(table.lookup(5)).toBeUndefined();
    expect(table.find(5, () => true, undefined)).toBeUndefined();
    table.build(members(1000));
    expect(table.byteLength).toBeLessThanOrEqual(300 * 1024);
  });
});
