/**
 * DOC: seeded pseudo-random numbers, one named stream per consumer.
 *
 * The model never uses `Math.random`: every random choice comes from a
 * {@link Prng} drawn from the machine's {@link PrngStreams}. Each consumer asks
 * for its own stream by name (`"fail_page_alloc"`, `"damon"`), seeded from the
 * machine seed and a hash of the name, so adding a consumer never shifts the
 * numbers another consumer sees. Same seed, same run, bit for bit.
 *
 * The generator is xoshiro128** (32-bit state words, so V8 keeps everything in
 * small integers), seeded through splitmix32.
 */

import { InvalidArgumentError } from './errors.js';

/** splitmix32 step: a well-mixed 32-bit output from a counter-like state. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/** FNV-1a over the UTF-16 code units of `s`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic 32-bit generator (xoshiro128**). */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /**
   * `seed` gives the low 32 bits of the state's source, `seedHigh` (0..2^21-1,
   * the rest of a 53-bit seed) is mixed into the two upper state words:
   * distinct (seed, seedHigh) pairs give distinct states, and `seedHigh` 0
   * gives the same state as the 32-bit seeding always did.
   */
  constructor(seed: number, seedHigh = 0) {
    let x = seed | 0;
    x = splitmix32(x);
    this.s0 = x;
    x = splitmix32(x);
    this.s1 = x;
    x = splitmix32(x);
    this.s2 = x;
    x = splitmix32(x);
    this.s3 = x;
    if (seedHigh !== 0) {
      // splitmix32 is a bijection and s0 depends on `seed` alone, so the
      // pair maps to distinct states.
      const h = splitmix32(seedHigh | 0);
      this.s2 ^= h;
      this.s3 ^= splitmix32(h);
    }
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next value, uniform over [0, 2^32). */
  nextU32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^32, without modulo bias. */
  below(n: number): number {
    if (typeof n !== 'number' || !(n >= 1 && n <= 0x1_0000_0000) || !Number.isInteger(n)) {
      throw new InvalidArgumentError('prng', 'n', `${String(n)} passed to below() is not an integer in [1, 2^32]`);
    }
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const v = this.nextU32();
      if (v < limit) return v % n;
    }
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** True with probability `p` (0 never, 1 always). */
  chance(p: number): boolean {
    return p >= 1 ? true : p <= 0 ? false : this.nextFloat() < p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The machine's named random streams. */
export class PrngStreams {
  /** The machine seed (an integer in 0..2^53-1; `resolveConfig` checks it). */
  readonly seed: number;
  /** Its low and high words: every stream depends on all 53 bits. */
  private readonly seedLow: number;
  private readonly seedHigh: number;
  private readonly streams = new Map<string, Prng>();

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new InvalidArgumentError('prng', 'seed', `${String(seed)} is not an integer in 0..2^53-1`);
    }
    this.seed = seed;
    this.seedLow = seed >>> 0;
    this.seedHigh = Math.floor(seed / 0x1_0000_0000);
  }

  /**
   * The stream named `name`, created on first use from the machine seed and
   * the name; later calls return the same stream (and so continue it).
   */
  stream(name: string): Prng {
    let p = this.streams.get(name);
    if (p === undefined) {
      p = new Prng(splitmix32((this.seedLow ^ fnv1a32(name)) | 0), this.seedHigh);
      this.streams.set(name, p);
    }
    return p;
  }

  /** A fresh generator for `name` that does not advance the shared stream (for reruns). */
  fork(name: string): Prng {
    return new Prng(splitmix32((this.seedLow ^ fnv1a32(name)) | 0), this.seedHigh);
  }
}
