import { afterEach, describe, expect, it } from 'vitest';
import {
  createMachine,
  EAGAIN,
  EFAULT,
  type Machine,
  type MachineConfig,
  MMU_EXEC,
  MMU_MAX_FAULT_RETRIES,
  MMU_READ,
  MMU_USER,
  MMU_WRITE,
  MmBugError,
  MmError,
  TLB_FLUSH_ALL,
  WALK_NOT_PRESENT,
  WALK_OK,
  X86_PF_INSTR,
  X86_PF_PROT,
  X86_PF_USER,
  X86_PF_WRITE,
} from '../src/index.js';
import { tagOn } from '../src/internal.js';
import {
  KERNEL_GLOBAL,
  MapWalker,
  RecordingFaultHandler,
  RO_USER,
  RW_USER,
  SZ_1G,
  SZ_2M,
  SZ_4K,
} from './tlb-test-walker.js';

const R = MMU_READ | MMU_USER;
const W = MMU_WRITE | MMU_USER;

let machines: Machine[] = [];
function setup(config: MachineConfig = {}) {
  const m = createMachine(config);
  machines.push(m);
  const walker = new MapWalker();
  m.mmu.registerWalker(walker);
  return { m, mmu: m.mmu, walker };
}

afterEach(() => {
  // Every test leaves a consistent MMU and no warnings.
  const done = machines;
  machines = [];
  for (const m of done) {
    m.mmu.validate();
    expect(m.warnings).toEqual([]);
  }
});

describe('access: TLB hits and fills', () => {
  it('walks on the first access and hits after the fill', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0x40_0000, 12, 777, RW_USER);
    expect(mmu.access(0, as, 0x40_0123, R)).toBe(777);
    expect(mmu.stats(0)).toMatchObject({ hits: 0, misses: 1, walks: 1, faults: 0 });
    expect(mmu.access(0, as, 0x40_0ff8, R)).toBe(777);
    expect(mmu.access(0, as, 0x40_0000, R)).toBe(777);
    expect(mmu.stats(0)).toMatchObject({ hits: 2, misses: 1, walks: 1 });
    expect(walker.walks).toBe(1);
    expect(mmu.probe(0, as, 0x40_0000)).toBe(777);
    // Another CPU has its own TLB.
    expect(mmu.probe(1, as, 0x40_0000)).toBe(-1);
    expect(mmu.access(1, as, 0x40_0000, R)).toBe(777);
    expect(mmu.stats(1)).toMatchObject({ hits: 0, misses: 1 });
  });

  it('charges hits, misses and walk levels in virtual ns to the machine accounting', () => {
    const { m, mmu, walker } = setup({ costs: { tlbHit: 1, tlbMiss: 10, pageWalkLevel: 100, tlbFlushAll: 1000 } });
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 5, RW_USER);
    mmu.access(2, as, 0, R); // switch-in (a new PCID slot is flushed) + miss + 4 levels
    mmu.access(2, as, 8, R); // hit
    expect(mmu.stats(2).busyNs).toBe(1000 + 10 + 400 + 1);
    expect(m.mmu.busyNs[0]).toBe(0);
    expect(m.account.busyNs[2]).toBe(1411);
    expect(m.clock.cpuNs[2]).toBe(1411);
    expect([m.account.eventCount('tlbHit'), m.account.eventCount('tlbMiss')]).toEqual([1, 1]);
    expect(m.account.eventCount('pageWalkLevel')).toBe(4);
  });

  it('evicts the least recently used way of a full set', () => {
    // 2 sets x 2 ways: pages 0, 2, 4 share set 0.
    const { mmu, walker } = setup({ tlb: { entries4k: 4, ways4k: 2 } });
    const as = mmu.createAddressSpace(1);
    for (const p of [0, 2, 4]) walker.map(1, p * SZ_4K, 12, 100 + p, RW_USER);
    mmu.access(0, as, 0, R);
    mmu.access(0, as, 2 * SZ_4K, R);
    mmu.access(0, as, 0, R); // page 0 is now the most recent
    mmu.access(0, as, 4 * SZ_4K, R); // evicts page 2
    expect(mmu.probe(0, as, 0)).toBe(100);
    expect(mmu.probe(0, as, 2 * SZ_4K)).toBe(-1);
    expect(mmu.probe(0, as, 4 * SZ_4K)).toBe(104);
    expect(mmu.nrEntries(0)).toEqual([2, 0, 0]);
  });

  it('caches nothing when the page size has no entries', () => {
    const { mmu, walker } = setup({ tlb: { entries4k: 0 } });
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 9, RW_USER);
    expect(mmu.access(0, as, 0, R)).toBe(9);
    expect(mmu.access(0, as, 0, R)).toBe(9);
    expect(mmu.stats(0)).toMatchObject({ hits: 0, misses: 2, walks: 2 });
  });
});

describe('state export', () => {
  it('dumps the MMU state as JSON', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, RW_USER);
    walker.map(1, SZ_2M, 21, 512, RW_USER);
    mmu.access(1, as, 0, R);
    mmu.access(1, as, SZ_2M, R);
    mmu.enterLazyTlb(1);
    const state = JSON.parse(JSON.stringify(mmu.stateJson()));
    expect(state.cpus[1]).toMatchObject({ cpu: 1, online: true, loadedMm: as.id, lazy: true, entries: [1, 1, 0] });
    expect(state.cpus[0]).toMatchObject({ loadedMm: 0, entries: [0, 0, 0] });
    expect(state.totals).toMatchObject({ misses: 2, walks: 2 });
    expect(state.addressSpaces).toContainEqual({ id: as.id, asid: as.asid, broadcast: false, tlbGen: 1, cpumask: [1] });
    expect(state).toMatchObject({ asidBits: 12, broadcastFlush: false });
  });
});

describe('huge pages', () => {
  it('a 2M entry covers its whole range', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, SZ_2M, 21, 512, RW_USER);
    expect(mmu.access(0, as, SZ_2M + 5, R)).toBe(512);
    expect(mmu.access(0, as, SZ_2M + 0x10_0000 + 123, R)).toBe(512 + 256);
    expect(mmu.access(0, as, 2 * SZ_2M - 1, R)).toBe(512 + 511);
    expect(mmu.stats(0)).toMatchObject({ hits: 2, misses: 1 });
    expect(mmu.nrEntries(0)).toEqual([0, 1, 0]);
    // Outside the 2M page: not covered.
    expect(mmu.probe(0, as, 2 * SZ_2M)).toBe(-1);
  });

  it('a 1G entry covers its whole range', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, SZ_1G, 30, 262144, RW_USER);
    expect(mmu.access(0, as, SZ_1G, R)).toBe(262144);
    expect(mmu.access(0, as, SZ_1G + 3 * SZ_2M + 7 * SZ_4K + 1, R)).toBe(262144 + 3 * 512 + 7);
    expect(mmu.stats(0)).toMatchObject({ hits: 1, misses: 1 });
    expect(mmu.nrEntries(0)).toEqual([0, 0, 1]);
  });

  it('splinters a 1G leaf into 2M entries when there are no 1G entries', () => {
    const { mmu, walker } = setup({ tlb: { entries1g: 0 } });
    const as = mmu.createAddressSpace(1);
    walker.map(1, SZ_1G, 30, 262144, RW_USER);
    expect(mmu.access(0, as, SZ_1G + SZ_2M + 1, R)).toBe(262144 + 512);
    expect(mmu.access(0, as, SZ_1G + SZ_2M + SZ_4K, R)).toBe(262144 + 513);
    expect(mmu.stats(0)).toMatchObject({ hits: 1, misses: 1 });
    // Another 2M piece of the same 1G page needs its own walk.
    expect(mmu.access(0, as, SZ_1G + 5 * SZ_2M, R)).toBe(262144 + 5 * 512);
    expect(mmu.stats(0)).toMatchObject({ misses: 2 });
    expect(mmu.nrEntries(0)).toEqual([0, 2, 0]);
  });

  it('flushing one address of a huge page drops the huge entry', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 21, 0, RW_USER);
    mmu.access(0, as, 0x1234, R);
    mmu.flushTlbMmRange(as, 0, SZ_2M, 21, false);
    expect(mmu.probe(0, as, 0x1234)).toBe(-1);
  });

  it('a flush with a 2M stride drops the 4K entries a 2M leaf was splintered into', () => {
    const { mmu, walker } = setup({ tlb: { entries2m: 0 } });
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 21, 0, RW_USER);
    for (const a of [0x1234, 0x5000, SZ_2M - 1]) mmu.access(0, as, a, R);
    expect(mmu.nrEntries(0)).toEqual([3, 0, 0]);
    mmu.flushTlbMmRange(as, 0, SZ_2M, 21, false);
    for (const a of [0x1234, 0x5000, SZ_2M - 1]) expect(mmu.probe(0, as, a)).toBe(-1);
  });

  it('caches a 512M PMD leaf of a 64K-page arm64 machine in one entry', () => {
    const { mmu } = setup({ arch: 'arm64', pageSize: 65536 });
    expect([mmu.pageShift, mmu.pmdShift, mmu.pudShift]).toEqual([16, 29, 42]);
    const as = mmu.createAddressSpace(1);
    mmu.registerWalker({
      walk(_as, vaddr, _kind, out) {
        if (vaddr >= 2 ** 29) return WALK_NOT_PRESENT;
        out.pfn = 8192; // 512M / 64K frames, aligned
        out.shift = 29;
        out.flags = RW_USER;
        out.levels = 2;
        return WALK_OK;
      },
    });
    expect(mmu.access(0, as, 3 * 65536 + 5, R)).toBe(8192 + 3);
    expect(mmu.access(0, as, 2 ** 29 - 1, R)).toBe(8192 + 8191);
    expect(mmu.stats(0)).toMatchObject({ hits: 1, misses: 1 });
    expect(mmu.nrEntries(0)).toEqual([0, 1, 0]);
  });

  it('has separate 16K-granule size classes on arm64', () => {
    const { mmu } = setup({ arch: 'arm64', pageSize: 16384 });
    expect([mmu.pageShift, mmu.pmdShift, mmu.pudShift]).toEqual([14, 25, 36]);
  });
});

describe('dirty and accessed bits', () => {
  it('a write through a clean entry goes to the walker, which sets dirty', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0x1000, 12, 42, RW_USER);
    expect(mmu.access(0, as, 0x1000, R)).toBe(42);
    const pte = walker.leaf(1, 0x1000)!;
    expect(pte).toMatchObject({ accessed: true, dirty: false });
    expect(mmu.access(0, as, 0x1008, W)).toBe(42);
    expect(pte.dirty).toBe(true);
    expect(walker.walks).toBe(2);
    expect(walker.walkKinds).toEqual([R, W]);
    // Now the entry is dirty: writes and reads hit.
    expect(mmu.access(0, as, 0x1010, W)).toBe(42);
    expect(mmu.access(0, as, 0x1018, R)).toBe(42);
    expect(walker.walks).toBe(2);
    expect(mmu.stats(0)).toMatchObject({ hits: 2, misses: 2, faults: 0 });
    expect(mmu.nrEntries(0)).toEqual([1, 0, 0]);
  });

  it('a walker that grants a write without setting dirty is a bug', () => {
    const { mmu } = setup();
    const as = mmu.createAddressSpace(1);
    mmu.registerWalker({
      walk(_as, _vaddr, _kind, out) {
        out.pfn = 1;
        out.flags = RW_USER;
        return 0;
      },
    });
    expect(() => mmu.access(0, as, 0, W)).toThrow(MmBugError);
  });
});

describe('page faults', () => {
  it('calls the fault handler and retries the access', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    const handler = new RecordingFaultHandler((_cpu, a, vaddr) => {
      walker.map(a.root, Math.floor(vaddr / SZ_4K) * SZ_4K, 12, 99, RW_USER);
      return 0;
    });
    mmu.registerFaultHandler(handler);
    expect(mmu.access(3, as, 0x7000_0010, W)).toBe(99);
    expect(handler.calls).toEqual([{ cpu: 3, asId: as.id, vaddr: 0x7000_0010, errorCode: X86_PF_WRITE | X86_PF_USER }]);
    expect(mmu.stats(3)).toMatchObject({ faults: 1, walks: 2, misses: 2, hits: 0 });
    expect(mmu.access(3, as, 0x7000_0018, W)).toBe(99);
    expect(mmu.stats(3).hits).toBe(1);
  });

  it('reports protection faults with the access bits', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, RO_USER);
    walker.map(1, SZ_4K, 12, 2, RW_USER | 0x04 /* NX */);
    walker.map(1, 2 * SZ_4K, 12, 3, KERNEL_GLOBAL);
    const handler = new RecordingFaultHandler(() => -EFAULT);
    mmu.registerFaultHandler(handler);
    expect(mmu.access(0, as, 0, W)).toBe(-EFAULT);
    expect(mmu.access(0, as, SZ_4K, MMU_EXEC | MMU_USER)).toBe(-EFAULT);
    expect(mmu.access(0, as, 2 * SZ_4K, R)).toBe(-EFAULT);
    expect(mmu.access(0, as, 3 * SZ_4K, R)).toBe(-EFAULT);
    expect(handler.calls.map((c) => c.errorCode)).toEqual([
      X86_PF_PROT | X86_PF_WRITE | X86_PF_USER,
      X86_PF_PROT | X86_PF_INSTR | X86_PF_USER,
      X86_PF_PROT | X86_PF_USER,
      X86_PF_USER,
    ]);
    // The kernel may read its own page.
    expect(mmu.access(0, as, 2 * SZ_4K, MMU_READ)).toBe(3);
  });

  it('a cached read-only entry does not allow a write: the walk faults', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, RO_USER);
    mmu.access(0, as, 0, R);
    const handler = new RecordingFaultHandler(() => {
      // The CoW-style fix: make it writable (no flush needed for an upgrade).
      walker.map(1, 0, 12, 8, RW_USER);
      return 0;
    });
    mmu.registerFaultHandler(handler);
    expect(mmu.access(0, as, 0, W)).toBe(8);
    expect(handler.calls).toHaveLength(1);
    expect(mmu.access(0, as, 0, R)).toBe(8);
  });

  it('passes the handler errno through, and -EFAULT without a handler', () => {
    const { mmu } = setup();
    const as = mmu.createAddressSpace(1);
    expect(mmu.access(0, as, 0, R)).toBe(-EFAULT);
    mmu.registerFaultHandler(new RecordingFaultHandler(() => -EAGAIN));
    expect(mmu.access(0, as, 0, R)).toBe(-EAGAIN);
    expect(mmu.stats(0).faults).toBe(2);
  });

  it('gives up with a warning when the handler never resolves the fault', () => {
    const { m, mmu } = setup();
    const as = mmu.createAddressSpace(1);
    const handler = new RecordingFaultHandler(() => 0);
    mmu.registerFaultHandler(handler);
    expect(mmu.access(0, as, 0, R)).toBe(-EFAULT);
    expect(handler.calls).toHaveLength(MMU_MAX_FAULT_RETRIES);
    expect(m.warnings).toHaveLength(1);
    m.warnings.length = 0;
  });
});

describe('ASIDs', () => {
  it('isolate address spaces on one CPU', () => {
    const { mmu, walker } = setup();
    const a = mmu.createAddressSpace(1);
    const b = mmu.createAddressSpace(2);
    walker.map(1, 0x1000, 12, 10, RW_USER);
    walker.map(2, 0x1000, 12, 20, RW_USER);
    expect(mmu.access(0, a, 0x1000, R)).toBe(10);
    expect(mmu.access(0, b, 0x1000, R)).toBe(20);
    expect(tagOn(mmu, 0, a)).not.toBe(tagOn(mmu, 0, b));
    // Both stay cached, each under its ASID: switching back hits.
    expect(mmu.access(0, a, 0x1000, R)).toBe(10);
    expect(mmu.access(0, b, 0x1000, R)).toBe(20);
    expect(mmu.stats(0)).toMatchObject({ misses: 2, hits: 2 });
    expect(mmu.probe(0, a, 0x1000)).toBe(10);
    expect(mmu.probe(0, b, 0x1000)).toBe(20);
    // Flushing one ASID leaves the other.
    mmu.localFlushTlbAsid(0, a);
    expect(mmu.probe(0, a, 0x1000)).toBe(-1);
    expect(mmu.probe(0, b, 0x1000)).toBe(20);
  });

  it('x86: a CPU keeps the PCIDs of its last six address spaces', () => {
    const { mmu, walker } = setup();
    expect(mmu.dynamicAsids).toBe(true);
    const spaces = Array.from({ length: 7 }, (_, i) => mmu.createAddressSpace(i + 1));
    spaces.forEach((as, i) => {
      walker.map(as.root, 0, 12, 100 + i, RW_USER);
    });
    for (let i = 0; i < 6; i++) mmu.access(0, spaces[i]!, 0, R);
    expect(spaces.slice(0, 6).map((as) => tagOn(mmu, 0, as))).toEqual([1, 2, 3, 4, 5, 6]);
    // Back to the first: its slot is still there, the entry hits.
    expect(mmu.access(0, spaces[0]!, 0, R)).toBe(100);
    expect(mmu.stats(0)).toMatchObject({ hits: 1, misses: 6 });
    // A seventh takes slot 1 round-robin: the first loses its PCID and misses again.
    expect(mmu.access(0, spaces[6]!, 0, R)).toBe(106);
    expect(tagOn(mmu, 0, spaces[6]!)).toBe(1);
    expect(tagOn(mmu, 0, spaces[0]!)).toBe(-1);
    expect(mmu.access(0, spaces[0]!, 0, R)).toBe(100);
    expect(mmu.stats(0)).toMatchObject({ hits: 1, misses: 8 });
  });

  it('arm64: ASIDs are machine-wide, so seven address spaces all stay cached', () => {
    const { mmu, walker } = setup({ arch: 'arm64' });
    expect(mmu.dynamicAsids).toBe(false);
    const spaces = Array.from({ length: 7 }, (_, i) => mmu.createAddressSpace(i + 1));
    spaces.forEach((as, i) => {
      walker.map(as.root, 0, 12, 100 + i, RW_USER);
    });
    for (const as of spaces) mmu.access(0, as, 0, R);
    for (const as of spaces) mmu.access(0, as, 0, R);
    expect(mmu.stats(0)).toMatchObject({ hits: 7, misses: 7 });
    expect(new Set(spaces.map((as) => as.asid)).size).toBe(7);
  });

  it('x86: a global ASID replaces the per-CPU slots of the CPUs running the address space', () => {
    const { mmu, walker } = setup({ tlb: { broadcastFlush: true } });
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 5, RW_USER);
    mmu.access(0, as, 0, R);
    mmu.access(1, as, 0, R);
    expect(mmu.loadedAsid[0]).toBe(1);
    mmu.useGlobalAsid(as);
    expect(as.asid).toBeGreaterThan(6);
    expect([mmu.loadedAsid[0], mmu.loadedAsid[1]]).toEqual([as.asid, as.asid]);
    // The global PCID starts empty: both CPUs walk again, then hit.
    expect(mmu.access(0, as, 0, R)).toBe(5);
    expect(mmu.access(0, as, 0, R)).toBe(5);
    expect(mmu.stats(0)).toMatchObject({ misses: 2, hits: 1 });
    mmu.flushTlbPage(as, 0);
    expect(mmu.probe(0, as, 0)).toBe(-1);
    expect(mmu.stats()).toMatchObject({ ipisSent: 0, broadcastFlushes: 1 });
    // Its global ASID is released with it.
    mmu.leaveMm(0);
    mmu.leaveMm(1);
    const asid = as.asid;
    mmu.destroyAddressSpace(as);
    const next = mmu.createAddressSpace(2);
    mmu.useGlobalAsid(next);
    expect(next.asid).toBe(asid);
  });

  it('without PCID every switch flushes the non-global entries', () => {
    const { mmu, walker } = setup({ tlb: { asidBits: 0 } });
    const a = mmu.createAddressSpace(1);
    const b = mmu.createAddressSpace(2);
    walker.map(1, 0x1000, 12, 10, RW_USER);
    walker.map(2, 0x1000, 12, 20, RW_USER);
    walker.map(1, 0xf000_0000, 12, 30, KERNEL_GLOBAL);
    walker.map(2, 0xf000_0000, 12, 30, KERNEL_GLOBAL);
    expect(mmu.access(0, a, 0x1000, R)).toBe(10);
    expect(mmu.access(0, a, 0xf000_0000, MMU_READ)).toBe(30);
    expect(mmu.access(0, b, 0x1000, R)).toBe(20);
    expect(mmu.access(0, a, 0x1000, R)).toBe(10);
    expect(mmu.stats(0)).toMatchObject({ misses: 4, hits: 0 });
    // The global kernel entry survived both CR3 writes.
    expect(mmu.access(0, b, 0xf000_0000, MMU_READ)).toBe(30);
    expect(mmu.stats(0).hits).toBe(1);
  });

  it('roll over to a new generation when they run out, keeping active ones', () => {
    // 3 bits: ASIDs 1..7 for 4 CPUs.
    const { mmu, walker } = setup({ tlb: { asidBits: 3 } });
    const spaces = Array.from({ length: 20 }, (_, i) => mmu.createAddressSpace(i + 1));
    spaces.forEach((as, i) => {
      walker.map(as.root, 0, 12, 1000 + i, RW_USER);
    });
    const running = spaces[0]!;
    mmu.access(1, running, 0, R);
    const runningAsid = running.asid;
    const gen0 = mmu.asidGeneration;
    for (let round = 0; round < 3; round++) {
      spaces.forEach((as, i) => {
        expect(mmu.access(0, as, 0, R)).toBe(1000 + i);
        mmu.validate();
      });
    }
    expect(mmu.asidGeneration).toBeGreaterThan(gen0);
    // CPU 1 kept running spaces[0] across rollovers: same ASID, still correct.
    expect(running.asid).toBe(runningAsid);
    expect(mmu.access(1, running, 0, R)).toBe(1000);
  });

  it('global entries survive ASID flushes but not a kernel-range flush', () => {
    const { mmu, walker } = setup();
    const a = mmu.createAddressSpace(1);
    const b = mmu.createAddressSpace(2);
    const kaddr = 0xffff_8000_0000; // a "kernel" address in both page tables
    for (const root of [1, 2]) walker.map(root, kaddr, 12, 4242, KERNEL_GLOBAL);
    walker.map(1, 0x1000, 12, 10, RW_USER);
    expect(mmu.access(0, a, kaddr, MMU_READ)).toBe(4242);
    expect(mmu.access(0, a, 0x1000, R)).toBe(10);
    mmu.flushTlbMm(a);
    mmu.localFlushTlbAsid(0, a);
    expect(mmu.probe(0, a, 0x1000)).toBe(-1);
    expect(mmu.probe(0, a, kaddr)).toBe(4242);
    // Another address space hits the same global entry.
    expect(mmu.access(0, b, kaddr, MMU_READ)).toBe(4242);
    expect(walker.walks).toBe(2);
    mmu.flushTlbKernelRange(kaddr, kaddr + SZ_4K);
    expect(mmu.probe(0, b, kaddr)).toBe(-1);
    mmu.access(0, b, kaddr, MMU_READ);
    mmu.localFlushTlbAll(0);
    expect(mmu.nrEntries(0)).toEqual([0, 0, 0]);
  });
});

describe('shootdowns', () => {
  function fourCpus(config: MachineConfig = {}) {
    const env = setup(config);
    const as = env.mmu.createAddressSpace(1);
    env.walker.map(1, 0x1000, 12, 10, RW_USER);
    env.walker.map(1, 0x2000, 12, 11, RW_USER);
    for (let c = 0; c < 4; c++) env.mmu.access(c, as, 0x1000, R);
    return { ...env, as };
  }

  it('an IPI flush invalidates remote entries and counts the IPIs', () => {
    const { m, mmu, walker, as } = fourCpus();
    expect(as.cpumaskCpus()).toEqual([0, 1, 2, 3]);
    walker.map(1, 0x1000, 12, 50, RW_USER); // remap, then flush
    m.currentCpu = 2;
    mmu.flushTlbPage(as, 0x1000);
    for (let c = 0; c < 4; c++) expect(mmu.probe(c, as, 0x1000)).toBe(-1);
    const s = mmu.stats();
    expect(s.ipisSent).toBe(3);
    expect(mmu.stats(2)).toMatchObject({ ipisSent: 3, shootdowns: 1, flushes: 1 });
    expect([0, 1, 3].map((c) => mmu.stats(c).remoteFlushReceived)).toEqual([1, 1, 1]);
    expect(s.broadcastFlushes).toBe(0);
    expect(s.localFlushOne).toBe(4);
    for (let c = 0; c < 4; c++) expect(mmu.access(c, as, 0x1000, R)).toBe(50);
  });

  it('scales to a 32-CPU machine: one IPI per other CPU running the address space', () => {
    const { m, mmu, walker } = setup({ preset: 'server2s' });
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0x1000, 12, 10, RW_USER);
    for (let c = 0; c < 32; c++) mmu.access(c, as, 0x1000, R);
    for (let c = 24; c < 32; c++) mmu.enterLazyTlb(c);
    m.currentCpu = 17;
    mmu.flushTlbPage(as, 0x1000);
    expect(mmu.stats(17).ipisSent).toBe(23);
    expect(mmu.vmTlbEvents()).toEqual({
      nr_tlb_remote_flush: 1,
      nr_tlb_remote_flush_received: 23,
      nr_tlb_local_flush_all: 32, // each CPU flushed the PCID slot it gave the address space
      nr_tlb_local_flush_one: 24,
    });
  });

  it('only flushes the pages asked for', () => {
    const { mmu, as } = fourCpus();
    for (let c = 0; c < 4; c++) mmu.access(c, as, 0x2000, R);
    mmu.flushTlbRange(as, 0x1000, 0x2000);
    for (let c = 0; c < 4; c++) {
      expect(mmu.probe(c, as, 0x1000)).toBe(-1);
      expect(mmu.probe(c, as, 0x2000)).toBe(11);
    }
  });

  it('a range above the ceiling flushes the whole ASID', () => {
    const { mmu, as } = fourCpus();
    for (let c = 0; c < 4; c++) mmu.access(c, as, 0x2000, R);
    const before = mmu.stats();
    mmu.flushTlbRange(as, 0x10_0000, 0x10_0000 + 34 * SZ_4K);
    for (let c = 0; c < 4; c++) expect(mmu.probe(c, as, 0x2000)).toBe(-1);
    const after = mmu.stats();
    expect(after.localFlushAll - before.localFlushAll).toBe(4);
    expect(after.localFlushOne - before.localFlushOne).toBe(0);
  });

  it('a local-only flush sends no IPI', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, RW_USER);
    mmu.access(0, as, 0, R);
    mmu.flushTlbPage(as, 0);
    expect(mmu.probe(0, as, 0)).toBe(-1);
    expect(mmu.stats()).toMatchObject({ ipisSent: 0, shootdowns: 0, localFlushOne: 1 });
  });

  it('skips lazy CPUs unless page tables were freed; they catch up at the next switch', () => {
    const { mmu, walker, as } = fourCpus();
    mmu.enterLazyTlb(3);
    walker.map(1, 0x1000, 12, 60, RW_USER);
    mmu.flushTlbPage(as, 0x1000);
    expect(mmu.stats().ipisSent).toBe(3 - 1);
    expect(mmu.probe(3, as, 0x1000)).toBe(10); // stale, but unusable until CPU 3 switches back
    expect(mmu.access(3, as, 0x1000, R)).toBe(60);
    // freed_tables: the lazy CPU gets the IPI too and drops to init_mm.
    mmu.enterLazyTlb(3);
    mmu.flushTlbMmRange(as, 0x1000, 0x2000, 12, true);
    expect(mmu.stats().ipisSent).toBe(2 + 3);
    expect(mmu.loadedMm(3)).toBe(mmu.initMm);
  });

  it('skips CPUs running another address space and flushes them when they return', () => {
    const { mmu, walker, as } = fourCpus();
    const other = mmu.createAddressSpace(2);
    walker.map(2, 0, 12, 5, RW_USER);
    mmu.access(1, other, 0, R);
    walker.map(1, 0x1000, 12, 70, RW_USER);
    mmu.flushTlbPage(as, 0x1000);
    expect(mmu.stats().ipisSent).toBe(2); // CPUs 2 and 3
    expect(mmu.probe(1, as, 0x1000)).toBe(10); // stale under as's ASID
    const flushes = mmu.stats(1).localFlushAll;
    expect(mmu.access(1, as, 0x1000, R)).toBe(70); // switch-in saw the tlb_gen move
    expect(mmu.stats(1).localFlushAll - flushes).toBe(1);
  });

  it('trims CPUs that left the address space from its cpumask', () => {
    const { mmu, walker, as } = fourCpus();
    mmu.trimCpumaskInterval = 1;
    const other = mmu.createAddressSpace(2);
    walker.map(2, 0, 12, 5, RW_USER);
    mmu.access(1, other, 0, R);
    mmu.flushTlbPage(as, 0x1000);
    expect(as.cpumaskCpus()).toEqual([0, 2, 3]);
    expect(mmu.stats().ipisSent).toBe(3);
  });

  it('flushTlbKernelRange sends an IPI to every other CPU and drops the global entries', () => {
    const { m, mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0xc000_0000, 12, 1, KERNEL_GLOBAL);
    walker.map(1, 0x1000, 12, 2, RW_USER);
    for (let c = 0; c < 4; c++) {
      mmu.access(c, as, 0xc000_0000, MMU_READ);
      mmu.access(c, as, 0x1000, R);
    }
    m.currentCpu = 1;
    mmu.flushTlbKernelRange(0xc000_0000, 0xc000_0000 + 2 * SZ_4K);
    for (let c = 0; c < 4; c++) {
      expect(mmu.probe(c, as, 0xc000_0000)).toBe(-1);
      expect(mmu.probe(c, as, 0x1000)).toBe(2);
    }
    expect(mmu.stats(1)).toMatchObject({ ipisSent: 3, shootdowns: 1 });
    expect(mmu.stats()).toMatchObject({ remoteFlushReceived: 3, localFlushOne: 8 });
    expect(() => mmu.flushTlbMm(mmu.initMm)).toThrow(/init_mm/);
  });

  it('local flushes touch one CPU only', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    for (let p = 0; p < 4; p++) walker.map(1, p * SZ_4K, 12, p, RW_USER);
    for (let c = 0; c < 2; c++) for (let p = 0; p < 4; p++) mmu.access(c, as, p * SZ_4K, R);
    mmu.localFlushTlbRange(0, as, SZ_4K, 3 * SZ_4K);
    expect([0, 1, 2, 3].map((p) => mmu.probe(0, as, p * SZ_4K))).toEqual([0, -1, -1, 3]);
    mmu.localFlushTlbPage(0, as, 0);
    expect(mmu.probe(0, as, 0)).toBe(-1);
    expect(mmu.nrEntries(1)).toEqual([4, 0, 0]);
    expect(mmu.stats()).toMatchObject({ ipisSent: 0, localFlushOne: 3, flushes: 2 });
  });

  it('counts its IPIs with the machine IPI counters', () => {
    const { m, mmu, as } = fourCpus();
    m.currentCpu = 1;
    mmu.flushTlbPage(as, 0x1000);
    expect(m.smp.sent[1]).toBe(3);
    expect(Array.from(m.smp.received)).toEqual([1, 0, 1, 1]);
    expect(m.account.eventCount('ipi')).toBe(3);
  });

  it('an offline CPU loses its TLB, leaves every cpumask and gets no IPI', () => {
    const { m, mmu, walker, as } = fourCpus();
    expect(m.hotplug.cpuDown(2)).toBe(0);
    expect(mmu.nrEntries(2)).toEqual([0, 0, 0]);
    expect(mmu.loadedMm(2)).toBe(mmu.initMm);
    expect(as.cpumaskCpus()).toEqual([0, 1, 3]);
    walker.map(1, 0x1000, 12, 90, RW_USER);
    mmu.flushTlbPage(as, 0x1000);
    expect(mmu.stats().ipisSent).toBe(2);
    mmu.flushTlbAll();
    expect(mmu.stats().ipisSent).toBe(2 + 2);
    expect(() => mmu.access(2, as, 0x1000, R)).toThrow(/CPU 2 is offline/);
    m.validate();
    expect(m.hotplug.cpuUp(2)).toBe(0);
    expect(mmu.access(2, as, 0x1000, R)).toBe(90);
  });

  it('flushTlbAll drops global entries on every CPU with an IPI each', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, KERNEL_GLOBAL);
    for (let c = 0; c < 4; c++) mmu.access(c, as, 0, MMU_READ);
    mmu.flushTlbAll();
    for (let c = 0; c < 4; c++) expect(mmu.nrEntries(c)).toEqual([0, 0, 0]);
    expect(mmu.stats().ipisSent).toBe(3);
  });
});

describe('batched unmap flushing (reclaim)', () => {
  it('defers the shootdown to one flush of the batch', () => {
    const { m, mmu, walker } = setup();
    const a = mmu.createAddressSpace(1);
    const b = mmu.createAddressSpace(2);
    walker.map(1, 0x1000, 12, 10, RW_USER);
    walker.map(2, 0x1000, 12, 20, RW_USER);
    for (let c = 0; c < 3; c++) mmu.access(c, a, 0x1000, R);
    mmu.access(3, b, 0x1000, R);
    m.currentCpu = 0;
    expect(mmu.archTlbbatchShouldDefer(a)).toBe(true);
    expect(mmu.archTlbbatchShouldDefer(mmu.createAddressSpace(3))).toBe(false);
    const batch = mmu.newTlbBatch();
    walker.unmap(1, 0x1000, 12);
    walker.unmap(2, 0x1000, 12);
    mmu.archTlbbatchAddPending(batch, a, 0x1000, 0x2000);
    mmu.archTlbbatchAddPending(batch, b, 0x1000, 0x2000);
    // Deferred: nothing flushed yet, the old translations are still cached.
    expect(mmu.stats().ipisSent).toBe(0);
    expect(mmu.probe(1, a, 0x1000)).toBe(10);
    mmu.validate();
    mmu.archTlbbatchFlush(batch);
    expect(mmu.stats(0)).toMatchObject({ ipisSent: 3, shootdowns: 1 });
    for (let c = 0; c < 3; c++) expect(mmu.probe(c, a, 0x1000)).toBe(-1);
    expect(mmu.probe(3, b, 0x1000)).toBe(-1);
    expect(Array.from(batch.cpumask)).toEqual([0, 0, 0, 0]);
    expect(a.nrDeferredFlushes + b.nrDeferredFlushes).toBe(0);
    expect(mmu.access(1, a, 0x1000, R)).toBe(-EFAULT);
  });

  it('with broadcast invalidation the batch flush sends no IPI', () => {
    const { mmu, walker } = setup({ tlb: { broadcastFlush: true } });
    const a = mmu.createAddressSpace(1);
    walker.map(1, 0x1000, 12, 10, RW_USER);
    walker.map(1, 0xc000_0000, 12, 11, KERNEL_GLOBAL);
    for (let c = 0; c < 3; c++) {
      mmu.access(c, a, 0x1000, R);
      mmu.access(c, a, 0xc000_0000, MMU_READ);
    }
    const batch = mmu.newTlbBatch();
    mmu.archTlbbatchAddPending(batch, a, 0x1000, 0x2000);
    mmu.archTlbbatchFlush(batch);
    expect(mmu.stats()).toMatchObject({ ipisSent: 0, broadcastFlushes: 1 });
    for (let c = 0; c < 3; c++) {
      expect(mmu.probe(c, a, 0x1000)).toBe(-1);
      expect(mmu.probe(c, a, 0xc000_0000)).toBe(11); // global entries stay
    }
  });
});

describe('broadcast flush (INVLPGB / TLBI IS)', () => {
  it('arm64: every flush is a broadcast and sends no IPI', () => {
    const { mmu, walker } = setup({ arch: 'arm64', tlb: { broadcastFlush: true } });
    const as = mmu.createAddressSpace(1);
    expect(as.broadcast).toBe(true);
    walker.map(1, 0x1000, 12, 10, RW_USER);
    for (let c = 0; c < 4; c++) mmu.access(c, as, 0x1000, R);
    walker.unmap(1, 0x1000, 12);
    mmu.flushTlbPage(as, 0x1000);
    for (let c = 0; c < 4; c++) expect(mmu.probe(c, as, 0x1000)).toBe(-1);
    expect(mmu.stats()).toMatchObject({ ipisSent: 0, shootdowns: 0, broadcastFlushes: 1, remoteFlushReceived: 0 });
    expect(mmu.access(2, as, 0x1000, R)).toBe(-EFAULT);
    mmu.flushTlbAll();
    mmu.flushTlbKernelRange(0, SZ_4K);
    expect(mmu.stats()).toMatchObject({ ipisSent: 0, broadcastFlushes: 3 });
  });

  it('x86: an address space active on more than 3 CPUs gets a global ASID after a shootdown', () => {
    const { mmu, walker } = setup({ preset: 'server2s', tlb: { broadcastFlush: true } });
    const as = mmu.createAddressSpace(1);
    expect(as.broadcast).toBe(false);
    walker.map(1, 0x1000, 12, 10, RW_USER);
    for (let c = 0; c < 5; c++) mmu.access(c, as, 0x1000, R);
    mmu.flushTlbPage(as, 0x1000);
    expect(mmu.stats().ipisSent).toBe(4);
    expect(as.broadcast).toBe(true);
    for (let c = 0; c < 5; c++) mmu.access(c, as, 0x1000, R);
    mmu.flushTlbMmRange(as, 0, TLB_FLUSH_ALL, 12, true);
    expect(mmu.stats()).toMatchObject({ ipisSent: 4, broadcastFlushes: 1 });
    for (let c = 0; c < 5; c++) expect(mmu.probe(c, as, 0x1000)).toBe(-1);
  });

  it('useGlobalAsid needs broadcast support', () => {
    const { mmu } = setup();
    expect(() => mmu.useGlobalAsid(mmu.createAddressSpace(1))).toThrow(/broadcast/);
  });
});

describe('bad input', () => {
  it('throws typed errors and changes nothing', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, RW_USER);
    const bad: [() => unknown, RegExp][] = [
      [() => mmu.access(4, as, 0, R), /^mmu: CPU 4/],
      [() => mmu.access(-1, as, 0, R), /^mmu: CPU -1/],
      [() => mmu.access(0.5, as, 0, R), /^mmu: CPU 0.5/],
      [() => mmu.access(0, as, -4096, R), /^mmu: virtual address/],
      [() => mmu.access(0, as, 1.5, R), /^mmu: virtual address/],
      [() => mmu.access(0, as, 2 ** 60, R), /^mmu: virtual address/],
      [() => mmu.access(0, as, 0, 8), /^mmu: unknown access kind/],
      [() => mmu.flushTlbRange(as, 0x2000, 0x1000), /^mmu: bad range/],
      [() => mmu.flushTlbMmRange(as, 0, 4096, 11, false), /^mmu: stride shift/],
      [() => mmu.destroyAddressSpace(mmu.initMm), /^mmu: init_mm/],
    ];
    for (const [fn, msg] of bad) {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(MmError.isInstance(err), String(msg)).toBe(true);
      expect((err as MmError).code).toBe('EINVAL');
      expect((err as Error).message).toMatch(msg);
    }
    expect(mmu.stats()).toMatchObject({ hits: 0, misses: 0, flushes: 0 });
  });

  it('refuses to destroy a running address space and to use a destroyed one', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, RW_USER);
    mmu.access(0, as, 0, R);
    mmu.access(1, as, 0, R);
    mmu.enterLazyTlb(1);
    expect(() => mmu.destroyAddressSpace(as)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    mmu.leaveMm(0);
    mmu.destroyAddressSpace(as);
    expect(mmu.loadedMm(1)).toBe(mmu.initMm);
    expect(() => mmu.access(0, as, 0, R)).toThrow(/destroyed/);
    expect(() => mmu.flushTlbMm(as)).toThrow(/destroyed/);
  });

  it('rejects a misbehaving walker or fault handler with typed errors', () => {
    const { mmu } = setup();
    const as = mmu.createAddressSpace(1);
    const cases: [Partial<{ pfn: number; shift: number; flags: number }>, number, RegExp][] = [
      [{ pfn: 1 }, 7, /walker returned 7/],
      [{ pfn: 3, shift: 21 }, 0, /not a leaf-aligned frame/],
      [{ pfn: 512, shift: 11 }, 0, /leaf shift 11/],
      [{ pfn: 1, flags: 0x80 }, 0, /unknown flags/],
      [{ pfn: -1 }, 0, /not a leaf-aligned frame/],
    ];
    for (const [fields, ret, msg] of cases) {
      mmu.registerWalker({
        walk(_as, _vaddr, _kind, out) {
          Object.assign(out, fields);
          return ret;
        },
      });
      expect(() => mmu.access(0, as, 0, R)).toThrow(msg);
    }
    expect(mmu.nrEntries(0)).toEqual([0, 0, 0]);
    mmu.registerWalker(null);
    expect(() => mmu.access(0, as, 0, R)).toThrow(/no hardware walker/);
    mmu.registerWalker(new MapWalker());
    mmu.registerFaultHandler(new RecordingFaultHandler(() => 1));
    expect(() => mmu.access(0, as, 0, R)).toThrow(/fault handler returned 1/);
  });

  it('rejects TLB geometries with a non-power-of-two number of sets', () => {
    expect(() => createMachine({ tlb: { entries4k: 96, ways4k: 4 } })).toThrow(/tlb.entries4k/);
    expect(() => createMachine({ tlb: { asidBits: 2 } })).toThrow(/tlb.asidBits/);
  });

  it('validate() reports a corrupted TLB', () => {
    const { mmu, walker } = setup();
    const as = mmu.createAddressSpace(1);
    walker.map(1, 0, 12, 1, RW_USER);
    mmu.access(0, as, 0, R);
    const t = mmu.tlbPte[0]!;
    const i = t.lookup(0, mmu.loadedAsid[0]!);
    t.tag[i] = 1; // page 1 does not belong in set 0
    expect(() => mmu.validate()).toThrow(MmBugError);
    t.tag[i] = 0;
  });
});
