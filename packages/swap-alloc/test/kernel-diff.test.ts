/**
 * swap_map counts against the kernel's own code: `kernel-diff/swapcount.c`
 * ran seeded bursts of swap_duplicate / free / cache-bit changes on four
 * entries sharing one swap_map page through the kernel's
 * __swap_duplicate, __swap_entry_free_locked, swap_count_continued,
 * add_swap_count_continuation and swp_swapcount (Linux 6.12's mm/swapfile.c,
 * whose digit arithmetic 6.18 keeps), and recorded the swap_map byte, the
 * exact count and the continuation digits after each burst
 * (test/kernel-diff/swapcount.txt). Here the same bursts run through this
 * package and every answer must match.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COUNT_CONTINUED,
  SWAP_HAS_CACHE,
  swapCacheDelFolio,
  swapcacheClear,
  swapcachePrepare,
  swapDuplicate,
  swapFree,
  swapon,
  swapValidate,
  swpEntry,
  swpSwapcount,
} from '../src/index.js';
import { allocOn, makeHarness } from './helpers/harness.js';

const text = readFileSync(join(import.meta.dirname, 'kernel-diff', 'swapcount.txt'), 'utf8');
const scripts = text.split(/^# seed \d+\n/m).filter((s) => s.trim() !== '');

describe('swap_map counts against the kernel (recorded answers)', () => {
  it.each(scripts.map((s, i) => [i + 1, s] as const))('seed %i', (_seed, script) => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 16 * 2 ** 20 });
    const si = h.swap.swapInfo[0]!;
    for (let i = 0; i < 4; i++) {
      const { folio, entry } = allocOn(h, 0, 0);
      expect(entry).toBe(swpEntry(0, 1 + i));
      swapDuplicate(h.swap, entry);
      swapCacheDelFolio(h.swap, folio);
      h.swap.folios.folioUnlock(folio);
    }
    let answers = 0;
    for (const line of script.trim().split('\n')) {
      const m = /^(\d+) ([dfcu]) (\d+) -> (\d+) (\d+) (-?\d+) (-?\d+) (-?\d+)$/.exec(line);
      if (m === null) throw new Error(`kernel-diff: cannot parse "${line}"`);
      const off = Number(m[1]);
      const n = Number(m[3]);
      const e = swpEntry(0, off);
      let err = 0;
      for (let k = 0; k < n; k++) {
        if (m[2] === 'd') err |= swapDuplicate(h.swap, e);
        else if (m[2] === 'f') swapFree(h.swap, e);
        else if (m[2] === 'c') err |= swapcachePrepare(h.swap, e, 1);
        else swapcacheClear(h.swap, e, 1);
      }
      expect(err, line).toBe(0);
      const byte = Number(m[4]);
      expect(si.swapMap[off], line).toBe(byte);
      expect(swpSwapcount(h.swap, e), line).toBe(Number(m[5]));
      // the digits that carry meaning: while the previous one says "continued"
      const digits = [Number(m[6]), Number(m[7]), Number(m[8])];
      const pages = si.cont.get(0);
      let more = (byte & ~SWAP_HAS_CACHE & COUNT_CONTINUED) !== 0;
      for (let d = 0; d < 3 && more; d++) {
        expect(pages?.[d]?.[off], `${line} (digit ${d + 1})`).toBe(digits[d]);
        more = (digits[d]! & COUNT_CONTINUED) !== 0;
      }
      answers++;
    }
    expect(answers).toBeGreaterThan(100);
    swapValidate(h.swap, { allowClaims: true });
  });
});
