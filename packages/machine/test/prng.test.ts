import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Prng, PrngStreams } from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

describe('Prng', () => {
  it('is deterministic for a seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    for (let i = 0; i < 1000; i++) expect(a.nextU32()).toBe(b.nextU32());
  });

  it('differs between seeds', () => {
    const a = new Prng(1);
    const b = new Prng(2);
    let same = 0;
    for (let i = 0; i < 100; i++) if (a.nextU32() === b.nextU32()) same++;
    expect(same).toBeLessThan(3);
  });

  it('below(n) stays in range and covers it', async () => {
    await fuzzAssert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const p = new Prng(seed);
        for (let i = 0; i < 50; i++) {
          const v = p.below(n);
          if (!(Number.isInteger(v) && v >= 0 && v < n)) return false;
        }
        return true;
      }),
      fuzzRuns(100),
    );
    const p = new Prng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(p.below(10));
    expect(seen.size).toBe(10);
  });

  it('is roughly uniform (chi-square over 16 buckets)', () => {
    const p = new Prng(123);
    const buckets = new Array<number>(16).fill(0);
    const n = 160_000;
    for (let i = 0; i < n; i++) buckets[p.nextU32() >>> 28]!++;
    const expected = n / 16;
    const chi2 = buckets.reduce((s, b) => s + (b - expected) ** 2 / expected, 0);
    // 15 degrees of freedom: p = 0.001 at 37.7
    expect(chi2).toBeLessThan(37.7);
  });

  it('rejects a bad bound', () => {
    expect(() => new Prng(1).below(0)).toThrow(InvalidArgumentError);
    expect(() => new Prng(1).below(1.5)).toThrow(InvalidArgumentError);
  });
});

describe('PrngStreams', () => {
  it('gives each consumer its own stream: adding one does not change another', () => {
    const alone = new PrngStreams(9);
    const a1 = Array.from({ length: 20 }, () => alone.stream('damon').nextU32());

    const shared = new PrngStreams(9);
    const a2: number[] = [];
    for (let i = 0; i < 20; i++) {
      shared.stream('fail_page_alloc').nextU32();
      a2.push(shared.stream('damon').nextU32());
    }
    expect(a2).toEqual(a1);
  });

  it('continues a named stream across calls and forks without advancing it', () => {
    const s = new PrngStreams(5);
    const first = s.stream('x').nextU32();
    const forked = s.fork('x').nextU32();
    expect(forked).toBe(first);
    expect(s.stream('x').nextU32()).not.toBe(first);
  });
});
