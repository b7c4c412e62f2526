/**
 * Fault injection at every allocation site: a random address space is built
 * (test/mm/ops.ts), then one more system call runs with failslab's fail-nth
 * set to 1, 2, 3, ... (each on a fresh copy of the address space, with
 * allocations that may reclaim and the maple tree's sheaf prefills eligible)
 * until the call no longer reaches the n-th allocation. Each failed
 * allocation must leave either the clean call's result or its error
 * (ENOMEM, brk's old break) with nothing leaked (checkMm) and the address
 * space unchanged, except where the kernel keeps part of the work:
 * mprotect, mlock and madvise keep the VMAs they changed before the
 * failure; a MAP_FIXED mmap may leave a hole where the old mappings were;
 * mremap may leave its MREMAP_FIXED target unmapped, the shrunken tail
 * unmapped, and, moving several VMAs, the ones moved before the failure
 * moved.
 */
import { EAGAIN, ENOMEM } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { File } from '../../src/mm/file.js';
import type { MmStruct } from '../../src/mm/mm-types.js';
import { MADV_DONTNEED, MADV_GUARD_INSTALL, MREMAP_FIXED } from '../../src/mm/mman.js';
import { VM_ACCOUNT } from '../../src/mm/vm-flags.js';
import { vmaList, vmaLookup } from '../../src/mm/vma.js';
import { fuzzRuns } from '../fuzz.js';
import { checkMm } from './helpers.js';
import { MREMAP_MODES, type Op, opArb, placeOp, runOp, WIN } from './ops.js';
import { diffPages, PAGE, type PageMap, pagesOf, samePage } from './oracle.js';
import { fixedShrinkLeak, setup } from './steps.js';

type Arch = 'x86_64' | 'arm64';

/** A fresh address space after `prefix`, and `last` placed in it. */
function build(arch: Arch, prefix: readonly Op[], last: Op) {
  const s = setup(arch);
  for (const op of prefix) {
    const placed = placeOp(s.t.mm, op);
    const src = placed.k === 'mremap' ? vmaLookup(s.t.mm, (WIN + placed.at) * PAGE) : null;
    const ret = runOp(s.t.mm, s.files, placed);
    s.t.commitSkew += fixedShrinkLeak(placed, ret, src !== null && (src.vmFlags & VM_ACCOUNT) !== 0);
  }
  const op = placeOp(s.t.mm, last);
  const src = op.k === 'mremap' ? vmaLookup(s.t.mm, (WIN + op.at) * PAGE) : null;
  // the accounted VMAs an mremap moves from
  const srcVmas: [number, number][] = [];
  if (op.k === 'mremap') {
    const lo = (WIN + op.at) * PAGE;
    const hi = lo + op.oldLen * PAGE;
    for (const v of vmaList(s.t.mm))
      if (v.vmStart < hi && v.vmEnd > lo && v.vmFlags & VM_ACCOUNT) srcVmas.push([v.vmStart, v.vmEnd]);
  }
  // the accounted pages a MAP_FIXED mmap replaces
  let fixedAccounted = 0;
  if (op.k === 'mmap' && op.fixed === 1) {
    const lo = (WIN + op.at) * PAGE;
    const hi = lo + op.len * PAGE;
    for (const v of vmaList(s.t.mm))
      if (v.vmFlags & VM_ACCOUNT) fixedAccounted += Math.max(0, Math.min(hi, v.vmEnd) - Math.max(lo, v.vmStart)) / PAGE;
  }
  return { ...s, op, srcAccounted: src !== null && (src.vmFlags & VM_ACCOUNT) !== 0, srcVmas, fixedAccounted };
}

/**
 * The pages of `mm` with each file replaced by one object per path and
 * inode number, so that the page maps of separate builds of the same
 * address space compare equal.
 */
function canonicalPages(mm: MmStruct, files: Map<string, File>): PageMap {
  const out: PageMap = new Map();
  for (const [p, pp] of pagesOf(mm)) {
    if (pp.file === null) {
      out.set(p, pp);
      continue;
    }
    const key = `${pp.file.path}#${pp.file.fInode.iIno}`;
    if (!files.has(key)) files.set(key, pp.file);
    out.set(p, { ...pp, file: files.get(key) as File });
  }
  return out;
}

function pagesIn(at: number, len: number): number[] {
  return Array.from({ length: len }, (_, i) => WIN + at + i);
}

/**
 * Whether `after` is a state the kernel may leave when `op` fails part-way,
 * given the state `before` and the state `clean` the call leaves without
 * failure. Returns a reason when it is not.
 */
function partialFailureState(op: Op, before: PageMap, clean: PageMap, after: PageMap): string | null {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const changed = [...keys].filter((p) => !samePage(before.get(p), after.get(p))).sort((a, b) => a - b);
  if (changed.length === 0) return null;
  switch (op.k) {
    case 'mprotect':
    case 'mlock':
    case 'madvise': {
      // the VMAs before the failure changed: a prefix of the range
      let done = true;
      for (const p of pagesIn(op.at, op.len)) {
        const a = after.get(p);
        if (done && samePage(a, clean.get(p))) continue;
        done = false;
        if (!samePage(a, before.get(p))) return `page ${p.toString(16)} neither changed in a prefix nor unchanged`;
      }
      return changed.every((p) => p >= WIN + op.at && p < WIN + op.at + op.len) ? null : 'changed outside the range';
    }
    case 'mmap':
      // MAP_FIXED: the old mappings may be gone
      if (op.fixed !== 1) return 'mmap without MAP_FIXED changed the address space';
      for (const p of changed) {
        if (p < WIN + op.at || p >= WIN + op.at + op.len || after.has(p)) return `page ${p.toString(16)} changed`;
      }
      return null;
    case 'mremap': {
      const flags = MREMAP_MODES[op.mode] as number;
      const fixed = (flags & MREMAP_FIXED) !== 0;
      const src = WIN + op.at;
      const dst = WIN + op.to;
      const newLen = op.newLen;
      for (const p of changed) {
        const a = after.get(p);
        if (p >= src && p < src + op.oldLen) {
          if (a !== undefined) return `source page ${p.toString(16)} changed`;
          const i = p - src;
          // unmapped: the shrunken tail, or moved to the target
          if (i >= newLen) continue;
          if (!fixed || !samePage(after.get(dst + i), before.get(p))) return `source page ${p.toString(16)} lost`;
          continue;
        }
        if (!fixed || p < dst || p >= dst + newLen) return `page ${p.toString(16)} outside source and target changed`;
        if (a !== undefined && !samePage(a, before.get(src + p - dst))) return `target page ${p.toString(16)} wrong`;
      }
      return null;
    }
    default:
      return `${op.k} changed the address space`;
  }
}

describe.each(['x86_64', 'arm64'] as const)('failslab at every allocation of a system call (%s)', (arch) => {
  it('the error comes back, nothing leaks, the address space is unchanged or as the kernel leaves it', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), opArb, (prefix, last) => {
        // the clean run
        const files = new Map<string, File>();
        const c = build(arch, prefix, last);
        const before = canonicalPages(c.t.mm, files);
        const cleanRet = runOp(c.t.mm, c.files, c.op);
        const clean = canonicalPages(c.t.mm, files);
        for (let n = 1; ; n++) {
          const s = build(arch, prefix, last);
          const mm = s.t.mm;
          const brkBefore = mm.brk;
          const fs = s.t.caches.slab.failslab;
          fs.configure({ ignoreGfpReclaim: false, prefill: true, failNth: n });
          const ret = runOp(mm, s.files, s.op);
          const fired = fs.nrFailed > 0;
          fs.configure({ ignoreGfpReclaim: true, prefill: false, failNth: 0 });
          if (!fired) break;
          const what = `${JSON.stringify(s.op)} with allocation ${n} failing returned ${ret} (clean ${cleanRet})`;
          const after = canonicalPages(mm, files);
          if (ret === cleanRet && diffPages(clean, after).length === 0) {
            // the failure was absorbed (a fallback path)
            s.t.commitSkew += fixedShrinkLeak(s.op, ret, s.srcAccounted);
            checkMm(s.t);
            continue;
          }
          if (s.op.k === 'mremap' && ret === cleanRet && ret >= 0) {
            // moved, but unmapping the source failed (unmap_source_vma():
            // "OOM: unable to split vma, just get accounts right"): the
            // source stays mapped. Linux charges the length moved again,
            // whether the VMA was accounted or not, and an accounted source
            // keeps VM_ACCOUNT cleared, so its charge is never returned.
            const lo = WIN + s.op.at;
            const hi = lo + s.op.oldLen;
            const inSrcVma = (a: number) => s.srcVmas.some(([x, y]) => a >= x && a < y);
            for (const p of new Set([...clean.keys(), ...after.keys()])) {
              const stuck = p >= lo && p < hi && clean.get(p) === undefined && samePage(after.get(p), before.get(p));
              expect(
                stuck || samePage(after.get(p), clean.get(p)),
                `${what}: page ${p.toString(16)}: ${diffPages(clean, after).join('; ')}`,
              ).toBe(true);
              if (stuck && !inSrcVma(p * PAGE)) s.t.commitSkew++;
            }
            for (const v of vmaList(mm)) {
              if (!(v.vmFlags & VM_ACCOUNT) && inSrcVma(v.vmStart)) s.t.commitSkew += (v.vmEnd - v.vmStart) / PAGE;
            }
            s.t.commitSkew += fixedShrinkLeak(s.op, ret, s.srcAccounted);
            checkMm(s.t);
            continue;
          }
          if (s.op.k === 'brk') {
            expect(ret, what).toBe(brkBefore);
            expect(mm.brk, what).toBe(brkBefore);
          } else {
            // madvise() turns ENOMEM into EAGAIN (kernel resources temporarily
            // unavailable) where it updates VMAs, not for the guard advice
            const eagain = s.op.k === 'madvise' && s.op.advice !== MADV_GUARD_INSTALL && s.op.advice !== MADV_DONTNEED;
            expect(ret, what).toBe(eagain ? -EAGAIN : -ENOMEM);
          }
          if (s.op.k === 'mmap' && s.op.fixed === 1 && s.op.prot & 2 && s.op.kind !== 2 && s.op.kind < 4) {
            // a private writable MAP_FIXED mmap took over the charge of the
            // accounted pages it replaces (__mmap_setup() zeroes
            // vms->nr_accounted); failing after their PTEs went, it leaves a
            // hole and never returns that charge
            if (pagesIn(s.op.at, s.op.len).some((p) => before.has(p) && !after.has(p)))
              s.t.commitSkew += s.fixedAccounted;
          }
          checkMm(s.t);
          const why = partialFailureState(s.op, before, clean, after);
          expect(why, `${what}: ${diffPages(before, after).join('; ')}`).toBeNull();
        }
      }),
      { numRuns: fuzzRuns(60) },
    );
  });
});
