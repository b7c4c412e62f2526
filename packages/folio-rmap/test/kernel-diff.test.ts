// Differential test against the kernel's own code: kernel-diff/build.sh
// compiles Linux 7.2's folio_set_large_mapcount,
// folio_add_return_large_mapcount, folio_sub_return_large_mapcount
// (include/linux/rmap.h), folio_maybe_mapped_shared (include/linux/mm.h) and
// folio_average_page_mapcount (fs/proc/internal.h) with userspace shims;
// kernel-diff/kdiff ran 300 seeded scripts of up to 50 (un)map steps by 2-5
// mms over folios of order 1-9 and recorded every answer in
// test/kernel-diff/mm-id.jsonl. The model must give the same answers.
import { readFileSync } from 'node:fs';
import { GFP_HIGHUSER_MOVABLE } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  createRmapMm,
  createRmapVma,
  folioAddReturnLargeMapcount,
  folioAlloc,
  folioAveragePageMapcount,
  folioMaybeMappedShared,
  folioMmId,
  folioMmIdMapcount,
  folioPut,
  folioSetLargeMapcount,
  folioSubReturnLargeMapcount,
  folioTestMmIdsShared,
  prepCompoundHead,
  VM_READ,
} from '../src/index.js';
import { setup } from './helpers.js';

interface Script {
  order: number;
  mms: number[];
  ops: [number, number, number, number, number, number, number, number, number, number][];
  warnings: number;
}

const lines = readFileSync(new URL('./kernel-diff/mm-id.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n');
const scripts = lines.filter((l) => l.startsWith('{"order"')).map((l) => JSON.parse(l) as Script);
const average = (JSON.parse(lines.find((l) => l.startsWith('{"average"')) as string) as { average: number[][] })
  .average;

describe('MM owner tracking against the kernel (Linux 7.2)', () => {
  it(`replays ${scripts.length} recorded scripts step by step`, () => {
    const { rm, machine } = setup();
    let steps = 0;
    for (const sc of scripts) {
      expect(sc.warnings).toBe(0);
      const f = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, sc.order);
      const vmas = sc.mms.map((id) => createRmapVma(createRmapMm(id), 0x40000000, 0x40200000, VM_READ));
      for (const [kind, m, diff, ret, id0, id1, c0, c1, shared, maybe] of sc.ops) {
        const vma = vmas[m] as (typeof vmas)[0];
        const where = `script order ${sc.order} step ${steps}: ${['set', 'add', 'sub'][kind]} ${diff} by mm ${vma.vmMm.mmId}`;
        let got: number;
        if (kind === 0) {
          folioSetLargeMapcount(rm, f, diff, vma);
          got = diff;
        } else if (kind === 1) {
          got = folioAddReturnLargeMapcount(rm, f, diff, vma);
        } else {
          got = folioSubReturnLargeMapcount(rm, f, diff, vma);
        }
        expect(
          [
            got,
            folioMmId(rm, f, 0),
            folioMmId(rm, f, 1),
            folioMmIdMapcount(rm, f, 0) - 1,
            folioMmIdMapcount(rm, f, 1) - 1,
          ],
          where,
        ).toEqual([ret, id0, id1, c0, c1]);
        expect([folioTestMmIdsShared(rm, f) ? 1 : 0, folioMaybeMappedShared(rm, f) ? 1 : 0], where).toEqual([
          shared,
          maybe,
        ]);
        steps++;
      }
      prepCompoundHead(rm, f, sc.order); // back to unmapped before the free
      folioPut(rm, f);
    }
    expect(steps).toBeGreaterThan(10_000);
    expect(machine.warnings).toEqual([]);
  });

  it(`folio_average_page_mapcount: ${average.length} recorded answers`, () => {
    const { rm } = setup();
    const folios = new Map<number, number>();
    for (const [order, m, e, avg] of average as [number, number, number, number][]) {
      let f = folios.get(order);
      if (f === undefined) {
        f = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, order);
        folios.set(order, f);
      }
      const s = rm.sec(f);
      const j = (f & rm.mask) + 1;
      s.next[j] = m - 1; // _large_mapcount
      s.mapping[j] = e - 1; // _entire_mapcount
      expect(folioAveragePageMapcount(rm, f), `order ${order}, mapcount ${m}, entire ${e}`).toBe(avg);
    }
  });
});
