/**
 * DOC: the operation scripts of the mm/vma.c differential test.
 *
 * A script is one operation per line; `kernel-diff/vdiff.c` runs it through
 * the kernel's own mm/vma.c (Linux 7.2, tools/testing/vma harness) and
 * {@link VmaScriptRunner} through this package's VMA layer; both print one
 * answer line per operation, and the lines must be identical. Every number
 * is hex; addresses and lengths are in pages. After ` | ` an answer lists the
 * address space: map_count, total/locked/data/exec/stack pages, and every VMA
 * as `start-end-pgoff-flags-anonvma-chainlen-file-close`.
 *
 * | op | arguments | kernel call | answer |
 * | --- | --- | --- | --- |
 * | `reset` | max_map_count | empty address space | ok |
 * | `fail` | | `vma_iter_prealloc()` fails during the next op | ok |
 * | `add` | s e pgoff flags av links file close | alloc_and_link_vma + vm_stat_account | ok |
 * | `mn` / `mnl` | s e pgoff flags av file | vma_merge_new_range (`mnl`: link a new VMA when no merge) | m range state / l / n state |
 * | `mod` | s e flags | vma_modify_flags on the VMA at s, then its flags set | r range flags / errno |
 * | `mp` | s e prot | do_mprotect_pkey's loop over vma_modify_flags | errno |
 * | `sp` | addr new_below | split_vma | errno |
 * | `ex` | addr end | vma_expand of the VMA at addr (next absorbed when end is its end) | errno state |
 * | `sh` | addr s e | vma_shrink | errno |
 * | `um` | s len | do_vmi_munmap | errno |
 * | `ext` | addr delta | vma_merge_extend | r range / n |
 * | `cp` | addr newaddr len keep | copy_vma | r range need_rmap_locks source_merged / n |
 * | `mr` | s len flags pgoff file | __mmap_region | a addr / errno |
 * | `brk` | addr len | do_brk_flags after the VMA below addr | errno |
 * | `fma` | addr | find_mergeable_anon_vma | anon_vma id |
 *
 * anon_vma ids 1..3 are the script's; 5 is the "parent" anon_vma a forked
 * VMA's second chain link points at. Files 1 and 2 have no `->mmap()` hook,
 * like the harness's.
 */
import { createMachine, ENOMEM, Prng } from '@mm/machine';
import { mtreeDestroy } from '@mm/maple-tree';
import type { AnonVma, AnonVmaChain, AnonVmaOps } from '../../src/mm/anon-vma.js';
import { File, FMODE_READ, FMODE_WRITE, Inode } from '../../src/mm/file.js';
import { createMmContext, type MmContext } from '../../src/mm/mm-context.js';
import { MmStruct, type VmAreaStruct, type VmOperationsStruct, vmaMarkDetached } from '../../src/mm/mm-types.js';
import { doBrkFlags, mmapRegion } from '../../src/mm/mmap-region.js';
import { RecordingPageTableOps } from '../../src/mm/pgtable-ops.js';
import { vmStatAccount } from '../../src/mm/vm-stat.js';
import {
  copyVma,
  findMergeableAnonVma,
  splitVma,
  VMA_MERGE_NOMERGE,
  VmaMergeStruct,
  vmaExpand,
  vmaIterNextRewind,
  vmaLink,
  vmaList,
  vmaMergeExtend,
  vmaMergeNewRange,
  vmaModifyFlags,
  vmaShrink,
} from '../../src/mm/vma.js';
import { vmAreaAlloc, vmAreaFree } from '../../src/mm/vma-init.js';
import { VmaIterator, vmaFind, vmaIterEnd, vmaIterLoad, vmaIterSet, vmaNext, vmaPrev } from '../../src/mm/vma-iter.js';
import { doVmiMunmap } from '../../src/mm/vma-munmap.js';
import { createMmCaches } from '../../src/slab-caches.js';

const PAGE = 4096;
const ACCESS = 0x7;

/** The harness's anon_vma behaviour (see vdiff.c): chains of links, no trees. */
class KdiffAnon {
  readonly id: number;
  readonly root: AnonVma;
  constructor(id: number) {
    this.id = id;
    this.root = this;
  }
}

class KdiffAnonOps implements AnonVmaOps {
  anonVmaPrepare(vma: VmAreaStruct): number {
    const av = new KdiffAnon(99);
    vma.anonVma = av;
    vma.anonVmaChain.push({ vma, anonVma: av });
    return 0;
  }
  anonVmaClone(dst: VmAreaStruct, src: VmAreaStruct): number {
    if (src.anonVma === null) return 0;
    for (const l of src.anonVmaChain) dst.anonVmaChain.push({ vma: dst, anonVma: l.anonVma });
    return 0;
  }
  unlinkAnonVmas(vma: VmAreaStruct): void {
    vma.anonVmaChain = [];
    vma.anonVma = null;
  }
  preUpdateVma(): void {}
  postUpdateVma(): void {}
}

const CLOSE_OPS: VmOperationsStruct = Object.freeze({ close: () => {} });

function hex(v: number): string {
  return v.toString(16);
}

/** A counter as the C driver prints an unsigned long. */
function ulong(v: number): string {
  return BigInt.asUintN(64, BigInt(v)).toString();
}

/** Runs scripts through the model. */
export class VmaScriptRunner {
  readonly ctx: MmContext;
  mm: MmStruct;
  readonly avs: KdiffAnon[];
  readonly files: (File | null)[];

  constructor() {
    const machine = createMachine();
    const caches = createMmCaches(machine);
    this.ctx = createMmContext(machine, caches, {
      pageTableOps: new RecordingPageTableOps(false),
      anonVmaOps: new KdiffAnonOps(),
    });
    this.mm = new MmStruct(this.ctx);
    this.avs = [0, 1, 2, 3, 4, 5].map((i) => new KdiffAnon(i));
    const nomap = { mmap: null };
    this.files = [
      null,
      new File('/kdiff/1', new Inode(this.ctx.rm, 1, [0, 1], 1 << 30), FMODE_READ | FMODE_WRITE, nomap),
      new File('/kdiff/2', new Inode(this.ctx.rm, 2, [0, 1], 1 << 30), FMODE_READ | FMODE_WRITE, nomap),
    ];
  }

  private avId(av: AnonVma | null): number {
    if (av === null) return 0;
    return av instanceof KdiffAnon ? av.id : 99;
  }

  /** The state suffix of an answer. */
  state(): string {
    const mm = this.mm;
    let s = ` | mc=${mm.mapCount} tv=${ulong(mm.totalVm)} lv=${ulong(mm.lockedVm)} dv=${ulong(mm.dataVm)} ev=${ulong(mm.execVm)} sv=${ulong(mm.stackVm)} :`;
    for (const v of vmaList(mm)) {
      const fi = v.vmFile === null ? 0 : this.files.indexOf(v.vmFile);
      s += ` ${hex(v.vmStart / PAGE)}-${hex(v.vmEnd / PAGE)}-${hex(v.vmPgoff)}-${hex(v.vmFlags)}-${this.avId(v.anonVma)}-${v.anonVmaChain.length}-${fi}-${v.vmOps === CLOSE_OPS ? 1 : 0}`;
    }
    return s;
  }

  private reset(maxMap: number): void {
    const mm = this.mm;
    for (const v of vmaList(mm)) {
      v.anonVmaChain = [];
      v.anonVma = null;
      vmaMarkDetached(v);
      vmAreaFree(v);
    }
    mtreeDestroy(mm.mmMt);
    this.mm = new MmStruct(this.ctx);
    this.ctx.sysctlMaxMapCount = maxMap;
  }

  private linkNew(
    s: number,
    e: number,
    pg: number,
    f: number,
    av: number,
    links: number,
    fi: number,
    cl: number,
  ): boolean {
    const mm = this.mm;
    const vma = vmAreaAlloc(mm);
    if (vma === null) return false;
    vma.vmStart = s * PAGE;
    vma.vmEnd = e * PAGE;
    vma.vmPgoff = pg;
    vma.vmFlags = f;
    if (fi !== 0) vma.vmFile = this.files[fi] as File;
    if (vmaLink(mm, vma) !== 0) {
      vmaMarkDetached(vma);
      vmAreaFree(vma);
      return false;
    }
    if (av !== 0) {
      const a = this.avs[av] as KdiffAnon;
      vma.anonVma = a;
      vma.anonVmaChain.push({ vma, anonVma: a } as AnonVmaChain);
      if (links > 1) vma.anonVmaChain.push({ vma, anonVma: this.avs[5] as KdiffAnon });
    }
    if (cl !== 0) vma.vmOps = CLOSE_OPS;
    vmStatAccount(mm, f, e - s);
    return true;
  }

  private vmg(vmi: VmaIterator, s: number, e: number, pg: number, f: number, av: number, fi: number): VmaMergeStruct {
    vmaIterSet(vmi, s * PAGE);
    const vmg = new VmaMergeStruct(this.mm, vmi, s * PAGE, e * PAGE, f, pg);
    vmg.anonVma = av !== 0 ? (this.avs[av] as KdiffAnon) : null;
    vmg.file = fi !== 0 ? (this.files[fi] as File) : null;
    return vmg;
  }

  private mprotectLike(start: number, end: number, prot: number): number {
    const mm = this.mm;
    const vmi = new VmaIterator(mm, start);
    let vma = vmaFind(vmi, end);
    if (vma === null || vma.vmStart > start) return -ENOMEM;
    let prev = vmaPrev(vmi);
    if (start > vma.vmStart) prev = vma;
    let nstart = start;
    let tmp = vma.vmStart;
    let error = 0;
    for (vma = vmaFind(vmi, end); vma !== null; vma = vmaFind(vmi, end)) {
      if (vma.vmStart !== tmp) {
        error = -ENOMEM;
        break;
      }
      const newflags = vma.vmFlags - (vma.vmFlags & ACCESS) + prot;
      tmp = Math.min(vma.vmEnd, end);
      if (newflags === vma.vmFlags) {
        prev = vma;
      } else {
        const oldflags = vma.vmFlags;
        const nf = { value: newflags };
        const r = vmaModifyFlags(vmi, prev, vma, nstart, tmp, nf);
        if (typeof r === 'number') {
          error = r;
          break;
        }
        vma = r;
        prev = vma;
        vma.vmFlags = nf.value;
        vmStatAccount(mm, oldflags, -(tmp - nstart) / PAGE);
        vmStatAccount(mm, vma.vmFlags, (tmp - nstart) / PAGE);
      }
      tmp = vmaIterEnd(vmi);
      nstart = tmp;
    }
    if (error === 0 && tmp < end) error = -ENOMEM;
    return error;
  }

  /** Run one operation and give its answer line. */
  step(line: string, failNext: boolean): string {
    const [op, ...rest] = line.trim().split(/\s+/);
    const n = rest.map((x) => Number.parseInt(x, 16));
    const a = n[0] ?? 0;
    const b = n[1] ?? 0;
    const c = n[2] ?? 0;
    const d = n[3] ?? 0;
    const e = n[4] ?? 0;
    const mm = this.mm;
    this.ctx.failPrealloc = failNext;
    const vmi = new VmaIterator(mm, 0);
    let out: string;
    try {
      switch (op) {
        case 'reset':
          this.reset(a);
          return 'ok';
        case 'fail':
          return 'ok';
        case 'add':
          out = this.linkNew(a, b, c, d, e, n[5] ?? 0, n[6] ?? 0, n[7] ?? 0) ? 'ok' : 'fail';
          break;
        case 'mn':
        case 'mnl': {
          const vmg = this.vmg(vmi, a, b, c, d, e, n[5] ?? 0);
          const pp: { prev: VmAreaStruct | null } = { prev: null };
          vmg.next = vmaIterNextRewind(vmi, pp);
          vmg.prev = pp.prev;
          const vma = vmaMergeNewRange(vmg);
          if (vma !== null) vmStatAccount(mm, d, b - a);
          if (vma !== null)
            out = `m ${hex(vma.vmStart / PAGE)} ${hex(vma.vmEnd / PAGE)} ${hex(vma.vmPgoff)} s${vmg.state}`;
          else if (op === 'mnl' && vmg.state === VMA_MERGE_NOMERGE)
            out = this.linkNew(a, b, c, d, e, 1, n[5] ?? 0, 0) ? 'l' : 'lfail';
          else out = `n s${vmg.state}`;
          break;
        }
        case 'mod': {
          vmaIterSet(vmi, a * PAGE);
          const vma = vmaIterLoad(vmi) as VmAreaStruct;
          let prev = vmaPrev(vmi);
          vmaIterSet(vmi, a * PAGE);
          vmaIterLoad(vmi);
          if (a * PAGE > vma.vmStart) prev = vma;
          const nf = { value: c };
          const oldflags = vma.vmFlags;
          const r = vmaModifyFlags(vmi, prev, vma, a * PAGE, b * PAGE, nf);
          if (typeof r === 'number') out = `e${r}`;
          else {
            r.vmFlags = nf.value;
            vmStatAccount(mm, oldflags, -(b - a));
            vmStatAccount(mm, r.vmFlags, b - a);
            out = `r ${hex(r.vmStart / PAGE)} ${hex(r.vmEnd / PAGE)} ${hex(r.vmPgoff)} ${hex(r.vmFlags)}`;
          }
          break;
        }
        case 'mp':
          out = String(this.mprotectLike(a * PAGE, b * PAGE, c));
          break;
        case 'sp': {
          vmaIterSet(vmi, a * PAGE);
          const vma = vmaIterLoad(vmi) as VmAreaStruct;
          out = String(splitVma(vmi, vma, a * PAGE, b !== 0));
          break;
        }
        case 'ex': {
          vmaIterSet(vmi, a * PAGE);
          const vma = vmaIterLoad(vmi) as VmAreaStruct;
          const vmg = new VmaMergeStruct(mm, vmi, vma.vmStart, b * PAGE, vma.vmFlags, vma.vmPgoff);
          vmg.target = vma;
          vmg.next = vmaNext(vmi);
          vmaIterSet(vmi, vma.vmStart);
          vmaIterLoad(vmi);
          const oldEnd = vma.vmEnd;
          let nf = 0;
          let np = 0;
          if (vmg.next !== null && vmg.next.vmEnd === vmg.end) {
            nf = vmg.next.vmFlags;
            np = (vmg.next.vmEnd - vmg.next.vmStart) / PAGE;
          }
          const ret = vmaExpand(vmg);
          if (ret === 0) {
            vmStatAccount(mm, nf, -np);
            vmStatAccount(mm, vma.vmFlags, (vmg.end - oldEnd) / PAGE);
          }
          out = `${ret} s${vmg.state}`;
          break;
        }
        case 'sh': {
          vmaIterSet(vmi, a * PAGE);
          const vma = vmaIterLoad(vmi) as VmAreaStruct;
          const before = (vma.vmEnd - vma.vmStart) / PAGE;
          const ret = vmaShrink(vmi, vma, b * PAGE, c * PAGE, vma.vmPgoff + (b * PAGE - vma.vmStart) / PAGE);
          if (ret === 0) vmStatAccount(mm, vma.vmFlags, -(before - (vma.vmEnd - vma.vmStart) / PAGE));
          out = String(ret);
          break;
        }
        case 'um':
          vmaIterSet(vmi, a * PAGE);
          out = String(doVmiMunmap(vmi, mm, a * PAGE, b * PAGE, false));
          break;
        case 'ext': {
          vmaIterSet(vmi, a * PAGE);
          const vma = vmaIterLoad(vmi) as VmAreaStruct;
          vmaIterSet(vmi, vma.vmEnd);
          const r = vmaMergeExtend(vmi, vma, b * PAGE);
          if (r !== null) vmStatAccount(mm, r.vmFlags, b);
          out = r === null ? 'n' : `r ${hex(r.vmStart / PAGE)} ${hex(r.vmEnd / PAGE)} ${hex(r.vmPgoff)}`;
          break;
        }
        case 'cp': {
          vmaIterSet(vmi, a * PAGE);
          const src = vmaIterLoad(vmi) as VmAreaStruct;
          const r = copyVma(src, b * PAGE, c * PAGE, src.vmPgoff + (a * PAGE - src.vmStart) / PAGE, d !== 0);
          if (r.newVma !== null) vmStatAccount(mm, r.vma.vmFlags, c);
          out =
            r.newVma === null
              ? 'n'
              : `r ${hex(r.newVma.vmStart / PAGE)} ${hex(r.newVma.vmEnd / PAGE)} ${hex(r.newVma.vmPgoff)} ${r.needRmapLocks ? 1 : 0} ${r.vma !== src ? 1 : 0}`;
          break;
        }
        case 'mr': {
          const r = mmapRegion(mm, e !== 0 ? (this.files[e] as File) : null, a * PAGE, b * PAGE, c, d);
          out = r < 0 ? `e${r}` : `a ${hex(r / PAGE)}`;
          break;
        }
        case 'brk': {
          vmaIterSet(vmi, a * PAGE);
          const prev = vmaPrev(vmi);
          out = String(doBrkFlags(mm, vmi, prev, a * PAGE, b * PAGE, 0));
          break;
        }
        case 'fma': {
          vmaIterSet(vmi, a * PAGE);
          const vma = vmaIterLoad(vmi) as VmAreaStruct;
          out = String(this.avId(findMergeableAnonVma(vma)));
          break;
        }
        default:
          throw new Error(`vma-ops: unknown op ${op}`);
      }
    } finally {
      this.ctx.failPrealloc = false;
    }
    return out + this.state();
  }
}

/** Run a whole script; one answer per non-comment line. */
export function runVmaScript(lines: readonly string[]): string[] {
  const r = new VmaScriptRunner();
  const out: string[] = [];
  let failNext = false;
  for (const l of lines) {
    if (l === '' || l.startsWith('#')) continue;
    out.push(r.step(l, failNext));
    failNext = l.trim() === 'fail';
  }
  return out;
}

/** What a generated script looks like. */
export interface VmaScriptProfile {
  readonly seed: number;
  readonly ops: number;
  /** The address space, in pages. */
  readonly space: number;
  /** `vm.max_map_count` of the resets (0: the default). */
  readonly maxMap: number;
  /** Use files and close hooks. */
  readonly files: boolean;
}

const FLAG_POOL = [0x73, 0x73, 0x73, 0x71, 0x77, 0x75, 0x70, 0x8000073, 0x800073, 0x100073, 0x2073, 0x873, 0x4073];

/**
 * Generate a script: each operation is chosen valid for the current
 * address space, which the model itself tracks while generating.
 */
export function generateVmaScript(p: VmaScriptProfile): string[] {
  const r = new Prng(p.seed);
  const runner = new VmaScriptRunner();
  const out: string[] = [];
  const maxMap = p.maxMap === 0 ? 0xfffa : p.maxMap;
  const chance = (x: number) => r.below(1000) < x * 1000;
  const pick = <T>(xs: readonly T[]): T => xs[r.below(xs.length)] as T;
  const flags = (): number => {
    let f = pick(FLAG_POOL);
    if (chance(0.01)) f += 2 ** 42; // VM_SEALED
    if (chance(0.02)) f |= 0x100; // GROWSDOWN
    return f;
  };
  const emit = (line: string, fail = false) => {
    if (fail) {
      out.push('fail');
      runner.step('fail', false);
    }
    out.push(line);
    runner.step(line, fail);
  };
  const vmas = () => vmaList(runner.mm).map((v) => ({ s: v.vmStart / PAGE, e: v.vmEnd / PAGE, v }));
  const free = (s: number, e: number) => vmas().every((x) => x.e <= s || x.s >= e);
  const freeRange = (len: number): number | null => {
    for (let t = 0; t < 20; t++) {
      const s = r.below(p.space);
      if (free(s, s + len)) return s;
    }
    return null;
  };
  /** A pgoff that lines up with a neighbour half the time. */
  const pgoffFor = (s: number, e: number): number => {
    const vs = vmas();
    const prev = vs.filter((x) => x.e === s)[0];
    const next = vs.filter((x) => x.s === e)[0];
    if (prev !== undefined && chance(0.5)) return prev.v.vmPgoff + (prev.e - prev.s);
    if (next !== undefined && next.v.vmPgoff >= e - s && chance(0.5)) return next.v.vmPgoff - (e - s);
    return chance(0.5) ? s : r.below(p.space);
  };
  emit(`reset ${hex(maxMap)}`);
  for (let k = 0; k < p.ops; k++) {
    const vs = vmas();
    const x = r.below(1000);
    const fail = chance(0.04);
    if (x < 12) {
      emit(`reset ${hex(p.maxMap === 0 ? 0xfffa : 4 + r.below(p.maxMap))}`);
    } else if (x < 130 || vs.length === 0) {
      const len = 1 + r.below(8);
      const s = freeRange(len);
      if (s === null) continue;
      const av = chance(0.4) ? 1 + r.below(3) : 0;
      const fi = p.files && chance(0.2) ? 1 + r.below(2) : 0;
      emit(
        `add ${hex(s)} ${hex(s + len)} ${hex(pgoffFor(s, s + len))} ${hex(flags())} ${av} ${av !== 0 && chance(0.2) ? 2 : 1} ${fi} ${p.files && chance(0.1) ? 1 : 0}`,
      );
    } else if (x < 260) {
      const len = 1 + r.below(6);
      const s = freeRange(len);
      if (s === null) continue;
      const av = chance(0.3) ? 1 + r.below(3) : 0;
      const fi = p.files && chance(0.15) ? 1 + r.below(2) : 0;
      emit(
        `${chance(0.5) ? 'mnl' : 'mn'} ${hex(s)} ${hex(s + len)} ${hex(pgoffFor(s, s + len))} ${hex(flags())} ${av} ${fi}`,
        fail,
      );
    } else if (x < 400) {
      const v = pick(vs);
      const s = v.s + r.below(v.e - v.s);
      const e = s + 1 + r.below(v.e - s);
      const nf = chance(0.5) ? v.v.vmFlags - (v.v.vmFlags & ACCESS) + pick([1, 3, 5, 0]) : flags();
      emit(`mod ${hex(s)} ${hex(e)} ${hex(nf)}`, fail);
    } else if (x < 500) {
      const s = r.below(p.space);
      emit(`mp ${hex(s)} ${hex(s + 1 + r.below(24))} ${pick([1, 3, 5, 0, 7])}`, fail);
    } else if (x < 580) {
      const v = pick(vs);
      if (v.e - v.s < 2) continue;
      emit(`sp ${hex(v.s + 1 + r.below(v.e - v.s - 1))} ${r.below(2)}`, fail);
    } else if (x < 640) {
      const v = pick(vs);
      const next = vs.find((y) => y.s >= v.e);
      let e: number;
      if (next !== undefined && next.s > v.e && chance(0.6)) e = v.e + 1 + r.below(next.s - v.e);
      else if (next !== undefined && next.v.vmOps?.close === undefined && chance(0.5)) e = next.e;
      else if (next === undefined) e = v.e + 1 + r.below(8);
      else continue;
      emit(`ex ${hex(v.s)} ${hex(e)}`, fail);
    } else if (x < 680) {
      const v = pick(vs);
      if (v.e - v.s < 2) continue;
      const cut = 1 + r.below(v.e - v.s - 1);
      if (chance(0.5)) emit(`sh ${hex(v.s)} ${hex(v.s)} ${hex(v.s + cut)}`, fail);
      else emit(`sh ${hex(v.s)} ${hex(v.s + cut)} ${hex(v.e)}`, fail);
    } else if (x < 820) {
      const s = chance(0.7) && vs.length > 0 ? pick(vs).s + r.below(3) : r.below(p.space);
      emit(`um ${hex(s)} ${hex(1 + r.below(chance(0.8) ? 6 : 40))}`, fail);
    } else if (x < 860) {
      const v = pick(vs);
      const d = 1 + r.below(4);
      if (!free(v.e, v.e + d)) continue;
      emit(`ext ${hex(v.s)} ${hex(d)}`, fail);
    } else if (x < 900) {
      const v = pick(vs);
      const a = v.s + r.below(v.e - v.s);
      const len = 1 + r.below(v.e - a);
      const na = freeRange(len);
      if (na === null || (na < a + len && na + len > a)) continue;
      emit(`cp ${hex(a)} ${hex(na)} ${hex(len)} ${r.below(2)}`, fail);
    } else if (x < 960) {
      const len = 1 + r.below(8);
      const s = chance(0.6) ? (freeRange(len) ?? r.below(p.space)) : r.below(p.space);
      const fi = p.files && chance(0.2) ? 1 + r.below(2) : 0;
      let f = flags();
      if (fi === 0) f &= ~0x8; // a shared anonymous mapping needs shmem (stubbed by the harness)
      emit(`mr ${hex(s)} ${hex(len)} ${hex(f)} ${hex(pgoffFor(s, s + len))} ${fi}`, fail);
    } else if (x < 985) {
      const len = 1 + r.below(4);
      const v = chance(0.7) && vs.length > 0 ? pick(vs) : null;
      const a = v !== null ? v.e : r.below(p.space);
      if (!free(a, a + len)) continue;
      emit(`brk ${hex(a)} ${hex(len)}`, fail);
    } else {
      const v = pick(vs);
      emit(`fma ${hex(v.s)}`);
    }
  }
  return out;
}

/**
 * An answer with its VMA list written as the change from the previous
 * answer's (`-vma` gone, `+vma` new), to keep fixtures small: the counters
 * stay whole. Comparing these from the same start compares the full lists.
 */
export function compactAnswers(answers: readonly string[]): string[] {
  let prev = new Set<string>();
  return answers.map((a) => {
    const bar = a.indexOf(' | ');
    if (bar < 0) return a;
    const colon = a.indexOf(' :', bar);
    const head = a.slice(0, colon);
    const vmas = a
      .slice(colon + 2)
      .split(' ')
      .filter((x) => x !== '');
    const cur = new Set(vmas);
    const gone = [...prev].filter((v) => !cur.has(v)).map((v) => `-${v}`);
    const added = vmas.filter((v) => !prev.has(v)).map((v) => `+${v}`);
    prev = cur;
    return `${head} :${[...gone, ...added].map((x) => ` ${x}`).join('')}`;
  });
}
