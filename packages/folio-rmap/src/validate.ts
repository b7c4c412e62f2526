/**
 * DOC: the validator (the checks of CONFIG_DEBUG_VM and the folio sanity
 * checks, as one function tests call after every step).
 *
 * Per folio, in both modes: refcount ≥ mapcount; entire ≤ large mapcount;
 * the MM slots (a free slot has id 0 and count -1, an occupied one a live MM
 * id and a count ≥ 0, the two ids differ, their counts sum to at most the
 * total, no shared bit on an unmapped folio, the bit lock free); hugetlb
 * folios keep both counters equal. With CONFIG_PAGE_MAPCOUNT the per-page
 * counts add up to the large mapcount and `_nr_pages_mapped` counts the
 * mapped pages. With `walk` (and a page-table view), an rmap walk of each
 * mapped folio must find exactly its mapcount (per page with
 * CONFIG_PAGE_MAPCOUNT), each slot's MM must map at least its slot count,
 * and a folio that two MMs map must be "maybe mapped shared".
 * The deferred split queues, the anon_vma trees (node keys, counters,
 * refcounts) and the i_mmap trees are checked too.
 */
import { MmBugError, PG_head, PG_locked, PGTY_hugetlb } from '@mm/machine';
import type { AnonVma, AnonVmaChain } from './anon-vma.js';
import type { FolioRmap } from './env.js';
import {
  ENTIRELY_MAPPED,
  FOLIO_MAPPING_ANON,
  folioMapcount,
  folioMaybeMappedShared,
  folioNrPages,
  folioTrylock,
  folioUnlock,
} from './folio.js';
import { MM_ID_MASK } from './mm-id.js';
import { folioVmaWalk, pageVmaMappedWalk } from './page-vma-mapped.js';
import { rmapWalk, rmapWalkControl } from './rmap-walk.js';
import { type RmapMm, type RmapVma, VM_HUGETLB, vmaLastPgoff, vmaStartPgoff } from './vma.js';

/** Options of {@link folioRmapValidate}. */
export interface ValidateOptions {
  /** Check only these folios (head PFNs); default: every allocated folio in materialized sections. */
  folios?: readonly number[];
  /** Also walk the rmap and page tables of each mapped folio (needs a page-table view). */
  walk?: boolean;
}

function fail(msg: string): never {
  throw new MmBugError(`folio_rmap: ${msg}`);
}

/** Every allocated head page with rmap state (mapped, or anon/file mapping). */
function liveFolios(rm: FolioRmap): number[] {
  const out: number[] = [];
  const sections = rm.sections;
  const n = rm.memmap.pagesPerSection;
  for (let sn = 0; sn < sections.length; sn++) {
    const s = sections[sn];
    if (s === undefined) continue;
    for (let i = 0; i < n; i++) {
      if ((s.refcount[i] as number) <= 0 || (s.compoundHead[i] as number) >= 0) continue;
      if ((s.pageType[i] as number) !== 0 && s.pageType[i] !== PGTY_hugetlb) continue;
      const large = ((s.flags[i] as number) & (1 << PG_head)) !== 0;
      if (s.mapping[i] !== 0 || (s.mapcount[i] as number) >= 0 || (large && (s.next[i + 1] as number) >= 0)) {
        out.push(sn * n + i);
      }
    }
  }
  return out;
}

function checkFolio(rm: FolioRmap, folio: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const f = `folio ${folio}`;
  const ref = s.refcount[i] as number;
  const mapcount = folioMapcount(rm, folio);
  if (ref < mapcount) fail(`${f}: refcount ${ref} < mapcount ${mapcount}`);
  if (!((s.flags[i] as number) & (1 << PG_head))) {
    if ((s.mapcount[i] as number) < -1) fail(`${f}: mapcount ${s.mapcount[i]} below -1`);
    return;
  }
  const j = i + 1;
  const nr = folioNrPages(rm, folio);
  const large = (s.next[j] as number) + 1;
  const entire = (s.mapping[j] as number) + 1;
  if (large < 0 || entire < 0) fail(`${f}: negative mapcounts (large ${large}, entire ${entire})`);
  if (entire > large) fail(`${f}: entire mapcount ${entire} > large mapcount ${large}`);
  if (s.pageType[i] === PGTY_hugetlb) {
    if (entire !== large) fail(`${f}: hugetlb entire ${entire} != large ${large}`);
    return;
  }
  const w0 = s.privateWords[2 * j] as number;
  const w1 = s.privateWords[2 * j + 1] as number;
  if (w0 < 0) fail(`${f}: large mapcount bit lock held`);
  if (w1 < 0 && large === 0) fail(`${f}: unmapped but maybe-mapped-shared`);
  let sum = 0;
  for (let k = 0; k < 2; k++) {
    const id = (k === 0 ? w0 : w1) & MM_ID_MASK;
    const c = s.indexWords[2 * j + k] as number;
    if (id === 0 && c !== -1) fail(`${f}: free slot ${k} with mapcount ${c + 1}`);
    if (id !== 0) {
      if (c < 0) fail(`${f}: slot ${k} (mm ${id}) with negative mapcount`);
      if (!rm.mmIds.inUse(id)) fail(`${f}: slot ${k} holds mm id ${id}, which is not allocated`);
      sum += c + 1;
    }
  }
  if ((w0 & MM_ID_MASK) !== 0 && (w0 & MM_ID_MASK) === (w1 & MM_ID_MASK))
    fail(`${f}: both slots hold mm ${w0 & MM_ID_MASK}`);
  if (sum > large) fail(`${f}: slot mapcounts ${sum} > total ${large}`);
  if (rm.pageMapcount) {
    let pte = 0;
    let mapped = 0;
    for (let k = 0; k < nr; k++) {
      const c = (s.mapcount[i + k] as number) + 1;
      if (c < 0) fail(`${f}: page ${folio + k} mapcount ${c}`);
      pte += c;
      if (c > 0) mapped++;
    }
    if (pte + entire !== large) fail(`${f}: per-page ${pte} + entire ${entire} != large mapcount ${large}`);
    const want = mapped + (entire > 0 ? ENTIRELY_MAPPED : 0);
    if ((s.prev[j] as number) !== want) fail(`${f}: _nr_pages_mapped ${s.prev[j]} != ${want}`);
  } else {
    for (let k = 0; k < nr; k++) {
      if ((s.mapcount[i + k] as number) !== -1)
        fail(`${f}: page ${folio + k} has a mapcount without CONFIG_PAGE_MAPCOUNT`);
    }
  }
}

/** Walk the rmap of a mapped folio and compare what the page tables hold with its counters. */
function checkWalk(rm: FolioRmap, folio: number): void {
  const nr = folioNrPages(rm, folio);
  const perPage = new Int32Array(nr);
  const perMm = new Map<RmapMm, number>();
  let pmd = 0;
  let total = 0;
  const locked = ((rm.sec(folio).flags[folio & rm.mask] as number) >>> PG_locked) & 1;
  if (!locked && !folioTrylock(rm, folio)) return;
  const rwc = rmapWalkControl(null, (r, fo, vma: RmapVma, address) => {
    const w = folioVmaWalk(r, fo, vma, address, 0);
    while (pageVmaMappedWalk(r, w)) {
      total++;
      perMm.set(vma.vmMm, (perMm.get(vma.vmMm) ?? 0) + 1);
      if (w.pte && !(vma.vmFlags & VM_HUGETLB)) {
        const k = w.entry.pfn - fo;
        perPage[k] = (perPage[k] as number) + 1;
      } else {
        pmd++;
      }
    }
    return true;
  });
  rmapWalk(rm, folio, rwc);
  if (!locked) folioUnlock(rm, folio);
  if (rwc.contended || rwc.wouldBlock) return;
  const f = `folio ${folio}`;
  const mapcount = folioMapcount(rm, folio);
  if (total !== mapcount) fail(`${f}: rmap walk found ${total} mappings, mapcount says ${mapcount}`);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if (nr > 1 && s.pageType[i] !== PGTY_hugetlb) {
    const entire = (s.mapping[i + 1] as number) + 1;
    if (pmd !== entire) fail(`${f}: rmap walk found ${pmd} PMD mappings, entire mapcount ${entire}`);
    if (rm.pageMapcount) {
      for (let k = 0; k < nr; k++) {
        const c = (s.mapcount[i + k] as number) + 1;
        if (c !== perPage[k]) fail(`${f}: page ${folio + k} mapcount ${c}, rmap walk found ${perPage[k]}`);
      }
    }
    const j = i + 1;
    for (let k = 0; k < 2; k++) {
      const id = (s.privateWords[2 * j + k] as number) & MM_ID_MASK;
      if (id === 0) continue;
      const c = (s.indexWords[2 * j + k] as number) + 1;
      let found = 0;
      for (const [mm, n] of perMm) if (mm.mmId === id) found = n;
      if (found < c) fail(`${f}: slot ${k} says mm ${id} maps ${c}, the page tables hold ${found}`);
    }
  }
  if (perMm.size >= 2 && !folioMaybeMappedShared(rm, folio)) {
    fail(`${f}: ${perMm.size} mms map it but folio_maybe_mapped_shared() is false`);
  }
}

function checkSplitQueues(rm: FolioRmap): void {
  for (let nid = 0; nid < rm.splitQueueLen.length; nid++) {
    let n = 0;
    let prev = -1;
    for (let f = rm.splitQueueHead[nid] as number; f >= 0; ) {
      if (++n > (rm.splitQueueLen[nid] as number)) fail(`deferred split queue of node ${nid} longer than its length`);
      const s = rm.sec(f);
      const i = f & rm.mask;
      if (!((s.flags[i] as number) & (1 << PG_head)) || (s.order[i] as number) <= 1)
        fail(`queued folio ${f} of order ≤ 1`);
      if (!((s.mapping[i] as number) & FOLIO_MAPPING_ANON)) fail(`queued folio ${f} is not anonymous`);
      if (s.prev[i + 2] !== prev) fail(`queued folio ${f}: prev ${s.prev[i + 2]} != ${prev}`);
      prev = f;
      f = s.next[i + 2] as number;
    }
    if (n !== rm.splitQueueLen[nid])
      fail(`deferred split queue of node ${nid}: ${n} folios, length ${rm.splitQueueLen[nid]}`);
    if (rm.splitQueueTail[nid] !== prev)
      fail(`deferred split queue of node ${nid}: tail ${rm.splitQueueTail[nid]} != ${prev}`);
  }
}

function checkAnonVmas(rm: FolioRmap): void {
  const children = new Map<AnonVma, number>();
  const rootRefs = new Map<AnonVma, number>();
  let live = 0;
  for (const av of rm.anonVmas) {
    if (av === undefined) continue;
    live++;
    if (av.root.root !== av.root) fail(`anon_vma ${av.handle}: its root ${av.root.handle} is not a root`);
    if (av.root.freed || av.parent.freed) fail(`anon_vma ${av.handle}: freed root or parent`);
    if (av.parent !== av) children.set(av.parent, (children.get(av.parent) ?? 0) + 1);
    if (av.root !== av) rootRefs.set(av.root, (rootRefs.get(av.root) ?? 0) + 1);
    const n = rm.avcTree.validate(av.rbRoot);
    const active = new Set<RmapVma>();
    for (const h of rm.avcTree.inOrder(av.rbRoot)) {
      const avc = rm.avcTree.owner[h] as AnonVmaChain;
      if (avc.anonVma !== av || avc.rb !== h) fail(`anon_vma ${av.handle}: avc in the wrong tree`);
      const v = avc.vma;
      if (rm.avcTree.start[h] !== vmaStartPgoff(v) || rm.avcTree.last[h] !== vmaLastPgoff(v, rm.pageSize)) {
        fail(`anon_vma ${av.handle}: avc keyed [${rm.avcTree.start[h]}, ${rm.avcTree.last[h]}] but its VMA moved`);
      }
      if (!v.anonVmaChain.includes(avc)) fail(`anon_vma ${av.handle}: avc not on its VMA's chain`);
      if (v.anonVma === av) active.add(v);
    }
    if (active.size !== av.numActiveVmas)
      fail(`anon_vma ${av.handle}: num_active_vmas ${av.numActiveVmas}, ${active.size} VMAs`);
    if (n === 0 && av.numActiveVmas !== 0) fail(`anon_vma ${av.handle}: empty tree with active VMAs`);
    if (av.refcount < 1) fail(`anon_vma ${av.handle}: refcount ${av.refcount}`);
  }
  for (const av of rm.anonVmas) {
    if (av === undefined) continue;
    const want = (children.get(av) ?? 0) + (av.root === av ? 1 : 0);
    if (av.numChildren !== want) fail(`anon_vma ${av.handle}: num_children ${av.numChildren}, ${want} counted`);
    if (av.root === av && av.refcount < 1 + (rootRefs.get(av) ?? 0)) {
      fail(`anon_vma ${av.handle}: root refcount ${av.refcount} < 1 + ${rootRefs.get(av) ?? 0} pinning children`);
    }
  }
  if (live !== rm.nrAnonVmas) fail(`${rm.nrAnonVmas} anon_vmas counted, ${live} live`);
}

/**
 * Check every invariant above; throws MmBugError naming the first broken one.
 * @kernel (the model of CONFIG_DEBUG_VM's folio, anon_vma and interval-tree checks)
 */
export function folioRmapValidate(rm: FolioRmap, opts: ValidateOptions = {}): void {
  const folios = opts.folios ?? liveFolios(rm);
  for (const folio of folios) checkFolio(rm, folio);
  if (opts.walk) {
    if (rm.pgtable === null) fail('validate: walk needs a page-table view');
    for (const folio of folios) if (folioMapcount(rm, folio) > 0) checkWalk(rm, folio);
  }
  checkSplitQueues(rm);
  checkAnonVmas(rm);
  for (const as of rm.mappings) if (as !== undefined) rm.vmaTree.validate(as.iMmap);
}
