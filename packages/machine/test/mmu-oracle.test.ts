/**
 * Property test of the MMU against two oracles: the page tables themselves
 * (every access must return what a fresh walk would, as long as each
 * page-table change is followed by the flush the kernel would issue), and a
 * Map-based reference translation cache that records when each (CPU, address
 * space, leaf) was filled and when it was last flushed: a TLB hit is only
 * legal for a translation filled after the last flush covering it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AddressSpace,
  createMachine,
  EFAULT,
  MMU_READ,
  MMU_USER,
  MMU_WRITE,
  TLB_FLUSH_ALL,
} from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';
import { MapWalker, RecordingFaultHandler, RO_USER, RW_USER, SZ_2M, SZ_4K } from './tlb-test-walker.js';

// A small universe so that random operations collide often: up to 4 CPUs,
// 3 address spaces, two 4K pages and one 2M page, all mapped at the start.
const NR_CPUS = 4;
/** Runs of the property; `MM_FUZZ_RUNS=100` multiplies them for a long fuzz (see fuzz.ts). */
const FUZZ_RUNS = fuzzRuns(400);
const NR_AS = 3;
const NR_SMALL = 2; // 4K pages at [0, 8K)
const HUGE_BASE = 4 * 1024 * 1024; // a 2M page at 4M
const NR_PAGES = NR_SMALL + 1;

function pageBase(page: number): number {
  return page < NR_SMALL ? page * SZ_4K : HUGE_BASE + (page - NR_SMALL) * SZ_2M;
}
function pageShift(page: number): number {
  return page < NR_SMALL ? 12 : 21;
}

type Flush = 'page' | 'range' | 'mm';
type Op =
  | { op: 'access'; cpu: number; as: number; page: number; offset: number; write: boolean }
  | { op: 'map'; as: number; page: number; pfn: number; writable: boolean; flush: Flush; freed: boolean }
  | { op: 'unmap'; as: number; page: number; flush: Flush; freed: boolean }
  | { op: 'switch'; cpu: number; as: number }
  | { op: 'lazy'; cpu: number }
  | { op: 'leave'; cpu: number }
  | { op: 'current'; cpu: number }
  | { op: 'flushAll' }
  | { op: 'localFlushAll'; cpu: number }
  | { op: 'global'; as: number }
  | { op: 'recreate'; as: number }
  | { op: 'batchUnmap'; as: number; page: number; pfn: number }
  | { op: 'batchFlush' }
  | { op: 'hotplug'; cpu: number };

const cpuArb = fc.integer({ min: 0, max: NR_CPUS - 1 });
const asArb = fc.integer({ min: 0, max: NR_AS - 1 });
const pageArb = fc.integer({ min: 0, max: NR_PAGES - 1 });
const flushArb = fc.constantFrom<Flush>('page', 'range', 'mm');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('access' as const),
      cpu: cpuArb,
      as: asArb,
      page: pageArb,
      offset: fc.integer({ min: 0, max: SZ_2M - 1 }),
      write: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('map' as const),
      as: asArb,
      page: pageArb,
      pfn: fc.integer({ min: 0, max: 7 }),
      writable: fc.boolean(),
      flush: flushArb,
      freed: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('unmap' as const),
      as: asArb,
      page: pageArb,
      flush: flushArb,
      freed: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('switch' as const), cpu: cpuArb, as: asArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('lazy' as const), cpu: cpuArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const), cpu: cpuArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('current' as const), cpu: cpuArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flushAll' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('localFlushAll' as const), cpu: cpuArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('global' as const), as: asArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('recreate' as const), as: asArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('batchUnmap' as const),
      as: asArb,
      page: pageArb,
      pfn: fc.integer({ min: -1, max: 7 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('batchFlush' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('hotplug' as const), cpu: cpuArb }) },
);

const configArb = fc.record({
  arch: fc.constantFrom('x86_64' as const, 'arm64' as const),
  broadcastFlush: fc.boolean(),
  // 2 bits (3 ASIDs) only with 2 CPUs: frequent rollovers.
  asidBits: fc.constantFrom(0, 2, 2, 3, 12),
  cpus: fc.constantFrom(2, 4),
  small: fc.boolean(),
  // x86 PCID slots per CPU (TLB_NR_DYN_ASIDS is 6; fewer force slot reuse).
  dynAsids: fc.integer({ min: 1, max: 6 }),
});
type Config = typeof configArb extends fc.Arbitrary<infer T> ? T : never;

function run(config: Config, ops: Op[]): void {
  const nrCpus = config.asidBits === 2 ? 2 : config.cpus;
  const geometry = config.small ? { entries4k: 8, ways4k: 2, entries2m: 2, ways2m: 1, entries1g: 0, ways1g: 1 } : {};
  const m = createMachine({
    arch: config.arch,
    nodes: [{ memoryBytes: 2 ** 30, cpus: nrCpus }],
    tlb: { ...geometry, asidBits: config.asidBits, broadcastFlush: config.broadcastFlush },
  });
  const mmu = m.mmu;
  mmu.nrDynAsids = config.dynAsids;
  const walker = new MapWalker();
  mmu.registerWalker(walker);
  const handler = new RecordingFaultHandler(() => -EFAULT);
  mmu.registerFaultHandler(handler);
  let nextRoot = 1;
  const spaces: AddressSpace[] = [];
  const newSpace = () => {
    const as = mmu.createAddressSpace(nextRoot++);
    for (let p = 0; p < NR_PAGES; p++) {
      walker.map(as.root, pageBase(p), pageShift(p), (as.root + p) * 2 ** (pageShift(p) - 12), RW_USER);
    }
    return as;
  };
  for (let i = 0; i < NR_AS; i++) spaces.push(newSpace());

  // The reference translation cache: fill epochs and flush epochs.
  let epoch = 0;
  const filled = new Map<string, number>(); // cpu|asId|leafKey -> epoch of the last fill
  const pageFlushed = new Map<string, number>(); // asId|leafKey -> epoch of the last flush of that leaf
  const mmFlushed = new Map<number, number>(); // asId -> epoch of the last whole-mm flush
  const cpuFlushed = new Int32Array(NR_CPUS); // epoch of the last full local flush per CPU
  let allFlushed = 0;

  // Reclaim-style batched unmapping: while an address space has a deferred
  // flush its CPUs may legitimately use the old translation, so its accesses
  // are not checked until the batch is flushed.
  const batch = mmu.newTlbBatch();
  // Address space -> epoch of its last batched change: entries filled before
  // it must be gone once the batch is flushed (later fills saw the new tables).
  const batched = new Map<AddressSpace, number>();

  const flushAfterChange = (as: AddressSpace, page: number, flush: Flush, freed: boolean) => {
    epoch++;
    const base = pageBase(page);
    const shift = pageShift(page);
    if (flush === 'page') {
      mmu.flushTlbMmRange(as, base, base + 2 ** shift, shift, freed);
      pageFlushed.set(`${as.id}|${shift}:${base}`, epoch);
    } else if (flush === 'range') {
      // A range over the whole region at base-page stride (large ones become full flushes).
      const start = page < NR_SMALL ? 0 : base;
      const end = page < NR_SMALL ? NR_SMALL * SZ_4K : base + SZ_2M;
      mmu.flushTlbMmRange(as, start, end, 12, freed);
      pageFlushed.set(`${as.id}|${shift}:${base}`, epoch);
    } else {
      mmu.flushTlbMmRange(as, 0, TLB_FLUSH_ALL, 12, freed);
      mmFlushed.set(as.id, epoch);
    }
  };

  for (const op of ops) {
    if ('cpu' in op && op.cpu >= nrCpus) continue;
    if ('cpu' in op && op.op !== 'hotplug' && m.cpus.online[op.cpu] === 0) continue;
    switch (op.op) {
      case 'access': {
        const as = spaces[op.as]!;
        const size = 2 ** pageShift(op.page);
        const vaddr = pageBase(op.page) + (op.offset % size);
        const kind = (op.write ? MMU_WRITE : MMU_READ) | MMU_USER;
        const expected = walker.translate(as.root, vaddr, kind);
        const before = mmu.stats(op.cpu);
        const got = mmu.access(op.cpu, as, vaddr, kind);
        const after = mmu.stats(op.cpu);
        const leaf = walker.leaf(as.root, vaddr);
        const leafKey =
          leaf === undefined ? '' : `${leaf.shift}:${Math.floor(vaddr / 2 ** leaf.shift) * 2 ** leaf.shift}`;
        const key = `${op.cpu}|${as.id}|${leafKey}`;
        if (batched.has(as)) {
          // A miss in the deferred window fills from the current tables.
          if (after.hits === before.hits && got >= 0) filled.set(key, ++epoch);
          break;
        }
        expect(got).toBe(expected >= 0 ? expected : -EFAULT);
        if (after.hits > before.hits) {
          const f = filled.get(key);
          expect(f, `hit without a fill for ${key}`).toBeDefined();
          const last = Math.max(
            pageFlushed.get(`${as.id}|${leafKey}`) ?? 0,
            mmFlushed.get(as.id) ?? 0,
            cpuFlushed[op.cpu]!,
            allFlushed,
          );
          expect(f!, `hit on ${key} filled at ${f} but flushed at ${last}`).toBeGreaterThan(last);
        } else if (got >= 0) {
          filled.set(key, ++epoch);
        }
        break;
      }
      case 'map': {
        const as = spaces[op.as]!;
        const shift = pageShift(op.page);
        // Frames aligned to the leaf size.
        walker.map(as.root, pageBase(op.page), shift, op.pfn * 2 ** (shift - 12), op.writable ? RW_USER : RO_USER);
        flushAfterChange(as, op.page, op.flush, op.freed);
        break;
      }
      case 'unmap': {
        const as = spaces[op.as]!;
        walker.unmap(as.root, pageBase(op.page), pageShift(op.page));
        flushAfterChange(as, op.page, op.flush, op.freed);
        break;
      }
      case 'switch':
        mmu.switchMm(op.cpu, spaces[op.as]!);
        break;
      case 'lazy':
        mmu.enterLazyTlb(op.cpu);
        break;
      case 'leave':
        mmu.leaveMm(op.cpu);
        break;
      case 'current':
        m.currentCpu = op.cpu;
        break;
      case 'flushAll':
        mmu.flushTlbAll();
        allFlushed = ++epoch;
        break;
      case 'localFlushAll':
        mmu.localFlushTlbAll(op.cpu);
        cpuFlushed[op.cpu] = ++epoch;
        break;
      case 'global':
        if (config.broadcastFlush) mmu.useGlobalAsid(spaces[op.as]!);
        break;
      case 'batchUnmap': {
        const as = spaces[op.as]!;
        const shift = pageShift(op.page);
        if (op.pfn < 0) walker.unmap(as.root, pageBase(op.page), shift);
        else walker.map(as.root, pageBase(op.page), shift, op.pfn * 2 ** (shift - 12), RO_USER);
        mmu.archTlbbatchAddPending(batch, as, pageBase(op.page), pageBase(op.page) + 2 ** shift);
        batched.set(as, ++epoch);
        break;
      }
      case 'hotplug':
        // Take the CPU down (never the one issuing flushes) or bring it back.
        if (m.cpus.online[op.cpu] === 0) expect(m.hotplug.cpuUp(op.cpu)).toBe(0);
        else if (op.cpu !== m.currentCpu) expect(m.hotplug.cpuDown(op.cpu)).toBe(0);
        break;
      case 'batchFlush':
        mmu.archTlbbatchFlush(batch);
        for (const [as, changedAt] of batched) mmFlushed.set(as.id, Math.max(mmFlushed.get(as.id) ?? 0, changedAt));
        batched.clear();
        break;
      case 'recreate': {
        const old = spaces[op.as]!;
        if (batched.has(old)) break;
        let running = false;
        for (let c = 0; c < nrCpus; c++) if (mmu.loadedMm(c) === old && !mmu.inLazyTlb(c)) running = true;
        if (running) break;
        mmu.destroyAddressSpace(old);
        spaces[op.as] = newSpace();
        break;
      }
    }
    m.validate();
    // The running address space of every CPU never has a stale entry cached.
    for (let c = 0; c < nrCpus; c++) {
      const as = mmu.loadedMm(c);
      if (as === mmu.initMm || mmu.inLazyTlb(c) || batched.has(as)) continue;
      for (let p = 0; p < NR_PAGES; p++) {
        const v = pageBase(p);
        const cached = mmu.probe(c, as, v);
        if (cached >= 0)
          expect(cached, `CPU ${c} caches a stale translation of ${v}`).toBe(walker.translate(as.root, v, 0));
      }
    }
  }
  expect(m.warnings).toEqual([]);
}

describe('MMU against a page-table and translation-cache oracle', () => {
  it('random accesses, remaps, switches and flushes', async () => {
    await fuzzAssert(
      fc.property(configArb, fc.array(opArb, { minLength: 1, maxLength: 150, size: 'max' }), (config, ops) => {
        run(config, ops);
      }),
      FUZZ_RUNS,
    );
  });

  it('a missing flush is caught: the TLB keeps serving the old translation', () => {
    // Documented TLB semantics: without the flush the stale entry stays in use.
    const m = createMachine();
    const walker = new MapWalker();
    m.mmu.registerWalker(walker);
    const as = m.mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, RW_USER);
    expect(m.mmu.access(0, as, 0, MMU_READ)).toBe(1);
    walker.map(1, 0, 12, 2, RW_USER);
    expect(m.mmu.access(0, as, 0, MMU_READ)).toBe(1);
    m.mmu.flushTlbPage(as, 0);
    expect(m.mmu.access(0, as, 0, MMU_READ)).toBe(2);
  });
});
