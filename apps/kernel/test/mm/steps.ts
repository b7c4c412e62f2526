/**
 * DOC: one checked step of the property tests: the address space they
 * start from, the call placed and run, its answer and pages compared with
 * the oracle's, and checkMm() after it.
 */
import type { ArchName } from '@mm/machine';
import { expect } from 'vitest';
import { MREMAP_FIXED } from '../../src/mm/mman.js';
import { VM_ACCOUNT } from '../../src/mm/vm-flags.js';
import { vmaLookup } from '../../src/mm/vma.js';
import { checkMm, makeMm, type TestMm } from './helpers.js';
import {
  BRK_START,
  expectOp,
  MREMAP_MODES,
  makeFiles,
  type Op,
  type OpFiles,
  placeOp,
  runOp,
  WIN,
  WIN_PAGES,
} from './ops.js';
import { diffPages, PAGE, type PageMap, pagesOf } from './oracle.js';

/** An empty address space (x86-64 or arm64) with the heap and the mmap base in the window, and its files. */
export function setup(arch: ArchName): { t: TestMm; files: OpFiles } {
  const t = makeMm({ arch, record: false });
  t.mm.capIpcLock = true;
  t.mm.startBrk = BRK_START;
  t.mm.brk = BRK_START;
  // mmap without an address lands in the window too (top-down from its end)
  t.mm.mmapBase = (WIN + WIN_PAGES) * PAGE;
  return { t, files: makeFiles(t.ctx) };
}

/**
 * The pages Linux leaves committed after `op`: a MREMAP_FIXED move that also
 * shrinks an accounted VMA charges the size difference after shrink_vma()
 * already returned it (vrm_calc_charge() reads the stale delta) and nothing
 * ever uncharges it; a failed call leaves nothing.
 */
export function fixedShrinkLeak(op: Op, ret: number, srcAccounted: boolean): number {
  if (op.k !== 'mremap' || ret < 0 || !srcAccounted) return 0;
  if (!((MREMAP_MODES[op.mode] as number) & MREMAP_FIXED) || op.newLen >= op.oldLen) return 0;
  return op.oldLen - op.newLen;
}

/** Run `op` and check the answer against the oracle; returns the oracle's new pages. */
export function stepChecked(t: TestMm, files: OpFiles, oracle: PageMap, rawOp: Op): PageMap {
  const mm = t.mm;
  const op = placeOp(mm, rawOp);
  const src = op.k === 'mremap' ? vmaLookup(mm, (WIN + op.at) * PAGE) : null;
  const vmaEndAt = src?.vmEnd ?? null;
  const srcAccounted = src !== null && (src.vmFlags & VM_ACCOUNT) !== 0;
  const brkBefore = mm.brk;
  const ret = runOp(mm, files, op);
  t.commitSkew += fixedShrinkLeak(op, ret, srcAccounted);
  const exp = expectOp(oracle, op, ret, files, mm, vmaEndAt, brkBefore);
  const what = `${JSON.stringify(op)} returned ${ret}`;
  expect(exp.err, `${what}: the oracle disagrees`).not.toBe(0);
  if (op.k === 'brk') {
    const want = brkBefore + op.delta * PAGE + op.odd * 100;
    expect(ret, what).toBe(exp.err === null ? want : brkBefore);
  } else if (exp.err === null) {
    if (op.k === 'mmap' || op.k === 'mremap') expect(ret, what).toBeGreaterThanOrEqual(0);
    else expect(ret, what).toBe(0);
  } else {
    expect(ret, what).toBe(exp.err);
  }
  expect(diffPages(exp.pages, pagesOf(mm)), what).toEqual([]);
  checkMm(t);
  return exp.pages;
}
