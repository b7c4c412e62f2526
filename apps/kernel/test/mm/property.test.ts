/**
 * Property tests: random sequences of mmap, munmap, mremap, mprotect,
 * madvise, brk and mlock against the page oracle (test/mm/oracle.ts), on
 * x86-64 and arm64; after every call the answer must be the kernel's, the
 * pages the oracle's, and checkMm() must pass (VMA tree and list equal, no
 * overlap, map_count, VM counters, commit charge equal to the accounted
 * pages, no slab object leaked).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fuzzRuns } from '../fuzz.js';
import { opArb } from './ops.js';
import type { PageMap } from './oracle.js';
import { setup, stepChecked } from './steps.js';

describe.each(['x86_64', 'arm64'] as const)('random system calls against the page oracle (%s)', (arch) => {
  it('answers and pages match the oracle; the VMA tree, counters and slab objects stay consistent', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 45 }), (ops) => {
        const { t, files } = setup(arch);
        let oracle: PageMap = new Map();
        for (const op of ops) oracle = stepChecked(t, files, oracle, op);
      }),
      { numRuns: fuzzRuns(30) },
    );
  });
});
