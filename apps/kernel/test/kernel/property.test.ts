/**
 * Property tests of the composed kernel: random sequences over up to 8
 * processes and threads of mmap, munmap, mprotect, mremap, MADV_DONTNEED,
 * fork, thread creation, exit, loads and stores, against the content-token
 * oracle (test/kernel/oracle.ts), with `kernel.validate()` after every step,
 * in both mapcount modes, on x86-64 and arm64, with and without mTHP/THP.
 * At the end every process exits and no user folio may be left.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createKernel } from '../../src/index.js';
import { fuzzRuns } from '../fuzz.js';
import { type Op, World } from './oracle.js';

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.nat(1000),
  a: fc.nat(1000),
  b: fc.nat(100000),
  c: fc.nat(100000),
});

const configs = [
  { arch: 'x86_64', mapcount: 'page', thp: 'never' },
  { arch: 'x86_64', mapcount: 'none', thp: 'always' },
  { arch: 'arm64', mapcount: 'page', thp: 'always' },
  { arch: 'arm64', mapcount: 'none', thp: 'never' },
] as const;

describe.each(configs)('composed kernel against the token oracle (%o)', (cfg) => {
  it("every answer and every page is the oracle's; validate() passes after each step; nothing leaks", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.nat(1000), (ops, seed) => {
        const k = createKernel({
          arch: cfg.arch,
          seed,
          mapcount: cfg.mapcount,
          thp: cfg.thp,
          mthp: cfg.thp === 'always' ? { 16: 'always', 64: 'always' } : {},
        });
        const w = new World(k);
        for (const op of ops) {
          w.step(op);
          k.validate();
        }
        w.checkAll();
        k.validate();
        w.finish();
        k.validate();
        expect(k.userFolios.size).toBe(0);
        expect(k.machine.warnings).toEqual([]);
      }),
      { numRuns: fuzzRuns(25) },
    );
  });
});
