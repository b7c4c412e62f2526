/**
 * fast-check: random sequences of allocation (orders 0..9, several CPUs,
 * several devices of mixed kinds and priorities), duplication (fork) past
 * SWAP_MAP_MAX, frees, swap cache removal, folio_free_swap,
 * free_swap_and_cache_nr, the slot cache switch and swapoff, checked against
 * an oracle of the references each slot holds (helpers/property-model.ts),
 * with swapValidate() after every step. `MM_FUZZ_RUNS=k` runs k times as
 * many sequences.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { assertInChunks } from './helpers/fuzz.js';
import { opArb, run } from './helpers/property-model.js';

describe('swap allocator against an oracle', () => {
  it('keeps every slot equal to the oracle, and the validator happy, over random operations', async () => {
    await assertInChunks(
      fc.property(
        fc.array(opArb, { minLength: 20, maxLength: 120 }),
        fc.integer({ min: 1, max: 1000 }),
        (ops, seed) => {
          run(ops, seed);
        },
      ),
      25,
      { verbose: 1 },
    );
  });

  it('does the same on a PREEMPT_RT machine, where every swap lock sleeps', async () => {
    await assertInChunks(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 80 }), fc.integer({ min: 1, max: 1000 }), (ops, seed) => {
        run(ops, seed, true);
      }),
      6,
      { verbose: 1 },
    );
  });
});
