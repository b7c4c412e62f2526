/**
 * The cluster allocator against the kernel's own code:
 * `kernel-diff/alloc.c` ran seeded scripts of allocations (orders 0, 2, 4, 9
 * on four CPUs) and frees over two SSDs of equal priority (one with a short
 * last cluster) and a lower-priority HDD through Linux 7.2's
 * cluster_alloc_swap_entry, alloc_swap_scan_cluster, isolate_lock_cluster,
 * relocate / free / partial-free, swap_alloc_fast, swap_alloc_slow and the
 * available-list helpers (the same allocation code as 6.18; the shimmed swap
 * table carries what the allocator reads), and recorded the entry each
 * allocation got, or its failure (test/kernel-diff/alloc.txt). Here the same
 * script runs through this package: every entry must be the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { swapCacheDelFolio, swapon, swapValidate, swpEntry, swpOffset, swpType } from '../src/index.js';
import { allocOn, makeHarness } from './helpers/harness.js';

const text = readFileSync(join(import.meta.dirname, 'kernel-diff', 'alloc.txt'), 'utf8');
const scripts = text.split(/^# seed \d+\n/m).filter((s) => s.trim() !== '');

describe('cluster allocation against the kernel (recorded answers)', () => {
  it.each(scripts.map((s, i) => [i + 1, s] as const))('seed %i', (_seed, script) => {
    const h = makeHarness();
    swapon(h.swap, { pages: 8 * 512, priority: 5 });
    swapon(h.swap, { pages: 6 * 512, priority: 5 });
    swapon(h.swap, { pages: 4 * 512, priority: 1, kind: 'hdd' });
    const live = new Map<number, number>();
    let answers = 0;
    let failures = 0;
    for (const line of script.trim().split('\n')) {
      const a = /^A (\d) (\d) -> (?:(\d+) (\d+)|-1)$/.exec(line);
      if (a !== null) {
        const { folio, entry } = allocOn(h, Number(a[1]), Number(a[2]));
        if (a[3] === undefined) {
          expect(entry, line).toBe(-12);
          failures++;
        } else {
          expect(entry >= 0 ? `${swpType(entry)} ${swpOffset(entry)}` : String(entry), line).toBe(`${a[3]} ${a[4]}`);
          live.set(entry, folio);
        }
        answers++;
        continue;
      }
      const f = /^F (\d+) (\d+) (\d)$/.exec(line);
      if (f === null) throw new Error(`kernel-diff: cannot parse "${line}"`);
      const e = swpEntry(Number(f[1]), Number(f[2]));
      const folio = live.get(e)!;
      live.delete(e);
      swapCacheDelFolio(h.swap, folio);
      h.swap.folios.folioUnlock(folio);
      h.swap.folios.folioPut(folio);
    }
    expect(answers).toBeGreaterThan(1000);
    expect(failures).toBeGreaterThan(0);
    swapValidate(h.swap);
  });
});
