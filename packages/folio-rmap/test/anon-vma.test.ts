// anon_vma and anon_vma_chain (mm/rmap.c, v7.2): prepare, fork with the
// reuse rule (num_children < 2 and num_active_vmas == 0), clone for a split,
// unlink freeing empty anon_vmas root last, ENOMEM unwinding with nothing
// leaked, and the interval tree a folio's rmap walk searches.
import { EAGAIN, ENOMEM, SCHED_AGAIN, SCHED_EXIT, SCHED_SLEEP } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  type AnonVma,
  anonVmaClone,
  anonVmaFork,
  anonVmaIntervalTreeForeach,
  anonVmaLockRead,
  anonVmaPrepare,
  anonVmaUnlockRead,
  createFolioRmap,
  createRmapVma,
  type RmapCache,
  type RmapVma,
  unlinkAnonVmas,
  VM_READ,
  VM_WRITE,
  VMA_OP_SPLIT,
} from '../src/index.js';
import { anonVma, newMm, setup } from './helpers.js';

const A = 0x40000000;

function forkVma(rm: ReturnType<typeof setup>['rm'], parent: RmapVma): RmapVma {
  const child = createRmapVma(newMm(rm), parent.vmStart, parent.vmEnd, parent.vmFlags, { vmPgoff: parent.vmPgoff });
  child.anonVma = parent.anonVma; // vm_area_dup copies the pointer; anon_vma_fork resets it
  expect(anonVmaFork(rm, child, parent)).toBe(0);
  return child;
}

function vmasOf(rm: ReturnType<typeof setup>['rm'], av: AnonVma): RmapVma[] {
  return anonVmaIntervalTreeForeach(rm, av, 0, Number.MAX_SAFE_INTEGER).map((avc) => avc.vma);
}

describe('anon_vma', () => {
  it('prepare makes a new root; a second prepare is a no-op; a mergeable neighbour is shared', () => {
    const { rm } = setup();
    const mm = newMm(rm);
    const v = anonVma(rm, mm, A, 16);
    const av = v.anonVma as AnonVma;
    expect(av.root).toBe(av);
    expect(av.parent).toBe(av);
    expect([av.numChildren, av.numActiveVmas, av.refcount]).toEqual([1, 1, 1]);
    expect(anonVmaPrepare(rm, v)).toBe(0);
    expect(v.anonVmaChain.length).toBe(1);
    const w = createRmapVma(mm, A + 0x10000, A + 0x20000, VM_READ | VM_WRITE);
    expect(anonVmaPrepare(rm, w, av)).toBe(0);
    expect(w.anonVma).toBe(av);
    expect(av.numActiveVmas).toBe(2);
    expect(vmasOf(rm, av)).toEqual([v, w]);
  });

  it('fork gives the child a new anon_vma under the same root; exit frees it', () => {
    const { rm } = setup();
    const p = anonVma(rm, newMm(rm), A, 16);
    const root = p.anonVma as AnonVma;
    const c = forkVma(rm, p);
    const cav = c.anonVma as AnonVma;
    expect(cav).not.toBe(root);
    expect(cav.root).toBe(root);
    expect(cav.parent).toBe(root);
    expect(root.numChildren).toBe(2);
    expect(root.refcount).toBe(2); // pinned by the child anon_vma
    expect(c.anonVmaChain.map((avc) => avc.anonVma)).toEqual([cav, root]);
    expect(vmasOf(rm, root)).toEqual([p, c]); // parent folios are found in the child too
    expect(vmasOf(rm, cav)).toEqual([c]);
    expect(unlinkAnonVmas(rm, c)).toBe(0);
    expect(c.anonVma).toBe(null);
    expect(cav.freed).toBe(true);
    expect(root.numChildren).toBe(1);
    expect(root.refcount).toBe(1);
    expect(rm.nrAnonVmas).toBe(1);
    expect(rm.nrAnonVmaChains).toBe(1);
    expect(unlinkAnonVmas(rm, p)).toBe(0);
    expect(root.freed).toBe(true);
    expect([rm.nrAnonVmas, rm.nrAnonVmaChains, rm.avcTree.nrNodes]).toEqual([0, 0, 0]);
  });

  it('repeated fork and exit does not grow chains', () => {
    const { rm } = setup();
    let v = anonVma(rm, newMm(rm), A, 16);
    const first = v;
    for (let gen = 0; gen < 20; gen++) {
      const c = forkVma(rm, v);
      if (gen > 0) expect(unlinkAnonVmas(rm, v)).toBe(0); // the parent exits
      v = c;
    }
    // Each generation's parent went away: chains stay short thanks to reuse.
    expect(v.anonVmaChain.length).toBeLessThanOrEqual(3);
    expect(first.anonVma).not.toBe(null);
  });

  it('reuses an anon_vma left with no VMA and one child', () => {
    const { rm } = setup();
    const p = anonVma(rm, newMm(rm), A, 16);
    const c = forkVma(rm, p);
    const b = c.anonVma as AnonVma;
    const g = forkVma(rm, c);
    const d = g.anonVma as AnonVma;
    expect(d.parent).toBe(b);
    expect(b.numChildren).toBe(1); // d (only a root counts itself)
    // C unmaps its VMA: b stays (g's avc is in its tree) with no active VMA.
    expect(unlinkAnonVmas(rm, c)).toBe(0);
    expect(b.freed).toBe(false);
    expect([b.numActiveVmas, b.numChildren]).toEqual([0, 1]);
    // G forks: b qualifies for reuse.
    const gg = forkVma(rm, g);
    expect(gg.anonVma).toBe(b);
    expect(b.numActiveVmas).toBe(1);
    expect(gg.anonVmaChain.length).toBe(g.anonVmaChain.length);
  });

  it('clone for a split links the new VMA into the same anon_vmas', () => {
    const { rm } = setup();
    const p = anonVma(rm, newMm(rm), A, 16);
    const c = forkVma(rm, p);
    const tail = createRmapVma(c.vmMm, A + 0x8000, A + 0x10000, c.vmFlags, { vmPgoff: c.vmPgoff + 8 });
    tail.anonVma = c.anonVma;
    expect(anonVmaClone(rm, tail, c, VMA_OP_SPLIT)).toBe(0);
    expect((c.anonVma as AnonVma).numActiveVmas).toBe(2);
    expect(tail.anonVmaChain.map((x) => x.anonVma).sort((a, b) => a.handle - b.handle)).toEqual(
      c.anonVmaChain.map((x) => x.anonVma).sort((a, b) => a.handle - b.handle),
    );
    const root = p.anonVma as AnonVma;
    // Page offsets A/4096 + 8.. are found in the tail, not in [A, A + 8 pages).
    const hits = anonVmaIntervalTreeForeach(rm, root, A / 4096 + 9, A / 4096 + 9).map((x) => x.vma);
    expect(hits).toContain(tail);
    expect(hits).toContain(p);
  });

  it('ENOMEM from the slab unwinds with nothing leaked', () => {
    for (let failAt = 0; failAt < 6; failAt++) {
      const { machine } = setup();
      let n = 0;
      let live = 0;
      const rm = createFolioRmap(machine, {
        hooks: {
          allocObject(_c: RmapCache) {
            if (n++ === failAt) return -ENOMEM;
            return live++;
          },
          freeObject() {
            live--;
          },
        },
      });
      const mm = newMm(rm);
      const p = createRmapVma(mm, A, A + 0x10000, VM_READ | VM_WRITE);
      const r = anonVmaPrepare(rm, p);
      if (r !== 0) {
        expect(r).toBe(-ENOMEM);
        expect([live, rm.nrAnonVmas, p.anonVmaChain.length]).toEqual([0, 0, 0]);
        continue;
      }
      const before = live;
      const c = createRmapVma(newMm(rm), A, A + 0x10000, p.vmFlags);
      const f = anonVmaFork(rm, c, p);
      if (f !== 0) {
        expect(f).toBe(-ENOMEM);
        expect(live).toBe(before);
        expect([c.anonVma, c.anonVmaChain.length]).toEqual([null, 0]);
        expect(rm.avcTree.nrNodes).toBe(1);
      }
    }
  });

  it('a contended root lock: the forking task sleeps (-EAGAIN) and the retried step succeeds', () => {
    const { rm, machine } = setup();
    const p = anonVma(rm, newMm(rm), A, 16);
    const av = p.anonVma as AnonVma;
    const c = createRmapVma(newMm(rm), A, A + 0x10000, p.vmFlags);
    const results: number[] = [];
    let reader = 0;
    machine.sched.kthreadRun('reader', 1, () => {
      if (reader === 0) {
        expect(anonVmaLockRead(av)).toBe(true);
        reader = 1;
        return SCHED_AGAIN;
      }
      if (reader++ < 3) return SCHED_AGAIN;
      anonVmaUnlockRead(av);
      return SCHED_EXIT;
    });
    machine.sched.kthreadRun('fork', 2, () => {
      const r = anonVmaFork(rm, c, p);
      results.push(r);
      return r === -EAGAIN ? SCHED_SLEEP : SCHED_EXIT;
    });
    machine.sched.runUntilIdle();
    expect(results[0]).toBe(-EAGAIN);
    expect(results[results.length - 1]).toBe(0);
    expect((c.anonVma as AnonVma).root).toBe(av);
    expect([rm.nrAnonVmas, rm.nrAnonVmaChains]).toEqual([2, 3]);
  });
});
