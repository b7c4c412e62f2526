/**
 * DOC: a reference model of one cache's percpu sheaves and per-node barns in
 * plain arrays (object addresses, top of a sheaf last), for the property run.
 *
 * It follows the kernel's rules (mm/slub.c: alloc_from_pcs, free_to_pcs,
 * __kfree_rcu_sheaf, rcu_free_sheaf, the bulk and prefilled-sheaf paths,
 * pcs_flush_all, barn_shrink) on its own state and predicts, for each step,
 * which sheaf an object comes from or goes to and where sheaves move; after
 * the step {@link SheafOracle.compare} checks the allocator holds exactly
 * that, object for object. Where the outcome depends on the page or kmalloc
 * allocator (a refill from slabs, a new empty sheaf under injected faults),
 * the oracle takes the branch the allocator's statistics show and adopts only
 * what came from the slabs: objects appended on top of a sheaf whose older
 * contents it checks first.
 */
import { expect } from 'vitest';
import type { KmemCache, SlabSheaf } from '../../src/index.js';
import { objAddrOf, SHEAF_RCU_FLIGHT } from '../../src/internal.js';
import { MAX_EMPTY_SHEAVES, MAX_FULL_SHEAVES, STAT } from '../../src/slab-flags.js';

type Arr = number[];

interface InFlight {
  arr: Arr;
  node: number;
  nobarn: boolean;
  impl: SlabSheaf;
}

/** Addresses held by an implementation sheaf, bottom first. */
function contents(s: KmemCache, sh: SlabSheaf): Arr {
  const out: Arr = [];
  for (let i = 0; i < sh.size; i++) out.push(objAddrOf(s, sh.objects[i]!));
  return out;
}

export class SheafOracle {
  readonly s: KmemCache;
  readonly cap: number;
  readonly nodeOf: (cpu: number) => number;
  main: Arr[];
  spare: (Arr | null)[];
  rcuFree: (Arr | null)[];
  barnFull: Arr[][];
  barnEmpty: number[];
  inFlight: InFlight[];
  /** Prefilled sheaves the test holds, keyed by the implementation sheaf. */
  prefilled: Map<SlabSheaf, Arr>;

  constructor(s: KmemCache, nrCpus: number, nrNodes: number, nodeOf: (cpu: number) => number) {
    this.s = s;
    this.cap = s.sheafCapacity;
    this.nodeOf = nodeOf;
    this.main = [];
    this.spare = [];
    this.rcuFree = [];
    for (let c = 0; c < nrCpus; c++) {
      this.main.push([]);
      this.spare.push(null);
      this.rcuFree.push(null);
    }
    this.barnFull = [];
    this.barnEmpty = [];
    for (let n = 0; n < nrNodes; n++) {
      this.barnFull.push([]);
      this.barnEmpty.push(0);
    }
    this.inFlight = [];
    this.prefilled = new Map();
  }

  private stat(item: number): number {
    return this.s.statTotal(item);
  }

  /** Objects appended on top of `old` by a refill: checks the old part, returns the implementation's contents. */
  private refilled(old: Arr, impl: SlabSheaf): Arr {
    const now = contents(this.s, impl);
    expect(now.slice(0, old.length)).toEqual(old);
    return now;
  }

  /**
   * `kmem_cache_alloc` on `cpu` (no node): returns the predicted object, or
   * null when the slab path serves it. `run` performs the allocation.
   */
  alloc(cpu: number, blocking: boolean, run: () => number): void {
    const node = this.nodeOf(cpu);
    let main = this.main[cpu]!;
    const spare = this.spare[cpu]!;
    if (main.length === 0 && spare !== null && spare.length > 0) {
      this.spare[cpu] = main;
      this.main[cpu] = spare;
      main = spare;
    } else if (main.length === 0 && this.barnFull[node]!.length > 0) {
      const full = this.barnFull[node]!.pop()!;
      this.barnEmpty[node]!++;
      this.main[cpu] = full;
      main = full;
    }
    if (main.length > 0) {
      const want = main.pop()!;
      expect(run()).toBe(want);
      return;
    }
    if (!blocking) {
      const before = this.stat(STAT.ALLOC_PCS);
      run();
      expect(this.stat(STAT.ALLOC_PCS)).toBe(before);
      return;
    }
    // refill an empty sheaf (the spare, else one from the barn, else a new one) from slabs
    const pcsBefore = this.stat(STAT.ALLOC_PCS);
    const hadSpare = spare !== null;
    const fromBarn = !hadSpare && this.barnEmpty[node]! > 0;
    const a = run();
    const pcs = this.s.pcs!;
    if (hadSpare) this.spare[cpu] = null;
    if (fromBarn) this.barnEmpty[node]!--;
    if (this.stat(STAT.ALLOC_PCS) === pcsBefore) return; // the refill failed: slab path
    // installed as main, the old (empty) main became the spare
    const implMain = pcs.main[cpu]!;
    expect(implMain.size).toBe(this.cap - 1);
    const now = contents(this.s, implMain);
    expect(a).toBe(objAddrOf(this.s, implMain.objects[this.cap - 1]!));
    this.spare[cpu] = main;
    this.main[cpu] = now;
  }

  /** `kmem_cache_free` of a local-node object on `cpu`. */
  free(cpu: number, addr: number, run: () => void): void {
    const node = this.nodeOf(cpu);
    const cap = this.cap;
    const main = this.main[cpu]!;
    if (main.length < cap) {
      run();
      main.push(addr);
      return;
    }
    const spare = this.spare[cpu]!;
    if (spare !== null && spare.length < cap) {
      this.spare[cpu] = main;
      this.main[cpu] = spare;
      run();
      spare.push(addr);
      return;
    }
    if (spare === null && this.barnEmpty[node]! > 0) {
      this.barnEmpty[node]!--;
      this.spare[cpu] = main;
      this.main[cpu] = [addr];
      run();
      return;
    }
    const allocs = this.stat(STAT.SHEAF_ALLOC);
    if (spare !== null && this.barnFull[node]!.length < MAX_FULL_SHEAVES && this.barnEmpty[node]! > 0) {
      this.barnEmpty[node]!--;
      this.barnFull[node]!.push(main);
      this.main[cpu] = [addr];
      run();
      return;
    }
    run();
    if (spare !== null && this.barnFull[node]!.length >= MAX_FULL_SHEAVES) {
      // E2BIG: the full spare is flushed to slabs and becomes the new empty main
      this.spare[cpu] = main;
      this.main[cpu] = [addr];
      return;
    }
    if (this.stat(STAT.SHEAF_ALLOC) === allocs) {
      // no empty sheaf could be had: main flushed to slabs, then the free goes in
      this.main[cpu] = [addr];
      return;
    }
    if (spare === null) this.spare[cpu] = main;
    else this.barnFull[node]!.push(main);
    this.main[cpu] = [addr];
  }

  /** `kfree_rcu` of a local-node object of this cache on `cpu` (batched kfree_rcu). */
  kfreeRcu(cpu: number, addr: number, run: () => void): void {
    const node = this.nodeOf(cpu);
    let r = this.rcuFree[cpu]!;
    const implBefore = this.s.pcs!.rcuFree[cpu];
    const allocs = this.stat(STAT.SHEAF_ALLOC);
    run();
    if (r === null) {
      const spare = this.spare[cpu]!;
      if (spare !== null && spare.length === 0) {
        this.spare[cpu] = null;
        r = [];
      } else if (this.barnEmpty[node]! > 0) {
        this.barnEmpty[node]!--;
        r = [];
      } else if (this.stat(STAT.SHEAF_ALLOC) > allocs) {
        r = [];
      } else return; // no empty sheaf: the kvfree_rcu batches take it
    }
    r.push(addr);
    this.rcuFree[cpu] = r;
    if (r.length >= this.cap) {
      const impl = implBefore ?? null;
      expect(impl).not.toBe(null);
      this.inFlight.push({ arr: r, node, nobarn: false, impl: impl as SlabSheaf });
      this.rcuFree[cpu] = null;
    }
  }

  /** Grace periods that ended: rcu_free sheaves go to the barn (or slabs). */
  private settle(): boolean {
    let pushed = false;
    const left: InFlight[] = [];
    for (const f of this.inFlight) {
      if (f.impl.where === SHEAF_RCU_FLIGHT) {
        left.push(f);
        continue;
      }
      if (f.nobarn) continue;
      if (f.arr.length > 0 && this.barnFull[f.node]!.length < MAX_FULL_SHEAVES) {
        this.barnFull[f.node]!.push(f.arr);
        pushed = true;
        continue;
      }
      // flushed to slabs (barn at its full limit) or empty: kept as an empty sheaf if there is room
      if (this.barnEmpty[f.node]! < MAX_EMPTY_SHEAVES) this.barnEmpty[f.node]!++;
    }
    this.inFlight = left;
    return pushed;
  }

  /** `alloc_from_pcs_bulk` then slabs; `arr` holds what the call returned. */
  bulkAlloc(cpu: number, n: number, run: () => number, arr: Float64Array): void {
    const node = this.nodeOf(cpu);
    const expected: Arr = [];
    while (expected.length < n) {
      let main = this.main[cpu]!;
      if (main.length === 0) {
        const spare = this.spare[cpu]!;
        if (spare !== null && spare.length > 0) {
          this.spare[cpu] = main;
          this.main[cpu] = spare;
          main = spare;
        } else if (this.barnFull[node]!.length > 0) {
          const full = this.barnFull[node]!.pop()!;
          this.barnEmpty[node]!++;
          this.main[cpu] = full;
          main = full;
        } else break;
      }
      const batch = Math.min(n - expected.length, main.length);
      expected.push(...main.splice(main.length - batch, batch));
    }
    const r = run();
    if (r === n) expect(Array.from(arr.subarray(0, expected.length))).toEqual(expected);
  }

  /** `free_to_pcs_bulk`: `local` are the objects of this CPU's node, in order. */
  bulkFree(cpu: number, local: Arr, run: () => void): void {
    const node = this.nodeOf(cpu);
    const cap = this.cap;
    let i = 0;
    while (i < local.length) {
      let main = this.main[cpu]!;
      if (main.length >= cap) {
        const spare = this.spare[cpu]!;
        if (spare === null) {
          if (this.barnEmpty[node] === 0) break;
          this.barnEmpty[node]!--;
          this.spare[cpu] = main;
          main = [];
          this.main[cpu] = main;
        } else if (spare.length < cap) {
          this.spare[cpu] = main;
          this.main[cpu] = spare;
          main = spare;
        } else {
          if (this.barnFull[node]!.length >= MAX_FULL_SHEAVES || this.barnEmpty[node] === 0) break;
          this.barnEmpty[node]!--;
          this.barnFull[node]!.push(main);
          main = [];
          this.main[cpu] = main;
        }
      }
      const batch = Math.min(local.length - i, cap - main.length);
      main.push(...local.slice(i, i + batch));
      i += batch;
    }
    run();
  }

  /** `kmem_cache_prefill_sheaf(size <= capacity)` on `cpu`; `run` returns the sheaf or null. */
  prefill(cpu: number, size: number, run: () => SlabSheaf | null): void {
    const node = this.nodeOf(cpu);
    if (size === 0) {
      expect(run()).toBe(null);
      return;
    }
    if (size > this.cap) {
      const sh = run();
      if (sh !== null) this.prefilled.set(sh, contents(this.s, sh));
      return;
    }
    let got: Arr | null = null;
    const spare = this.spare[cpu]!;
    if (spare !== null) {
      this.spare[cpu] = null;
      got = spare;
    } else if (this.barnFull[node]!.length > 0) got = this.barnFull[node]!.pop()!;
    else if (this.barnEmpty[node]! > 0) {
      this.barnEmpty[node]!--;
      got = [];
    }
    const sh = run();
    if (sh === null) return; // new sheaf not allocated, or the refill failed (flushed and freed)
    this.prefilled.set(sh, got === null || got.length >= size ? (got ?? []) : this.refilled(got, sh));
    if (got === null) this.prefilled.set(sh, this.refilled([], sh));
    expect(contents(this.s, sh)).toEqual(this.prefilled.get(sh));
  }

  /** `kmem_cache_alloc_from_sheaf`: `run` takes the sheaf's last object, or -ENOMEM when the sheaf is empty. */
  fromSheaf(sh: SlabSheaf, run: () => number): void {
    const arr = this.prefilled.get(sh)!;
    const a = run();
    if (arr.length === 0) expect(a).toBe(-12);
    else expect(a).toBe(arr.pop());
  }

  /** `kmem_cache_return_sheaf` on `cpu`. */
  returnSheaf(cpu: number, sh: SlabSheaf, run: () => void): void {
    const node = this.nodeOf(cpu);
    const arr = this.prefilled.get(sh)!;
    this.prefilled.delete(sh);
    const oversize = sh.capacity !== this.cap;
    run();
    if (oversize) return;
    if (this.spare[cpu] === null) {
      this.spare[cpu] = arr;
      return;
    }
    if (this.barnFull[node]!.length >= MAX_FULL_SHEAVES) return;
    // refilled to capacity for the barn, unless that failed (flushed and freed)
    const top = this.s.barns[node]!.sheavesFull.at(-1);
    if (top === sh) this.barnFull[node]!.push(this.refilled(arr, sh));
  }

  /** `kmem_cache_refill_sheaf`: `before` is the sheaf the ref held, `after` the one it holds now. */
  refill(before: SlabSheaf, after: SlabSheaf, cpu: number, r: number): void {
    const arr = this.prefilled.get(before)!;
    if (after === before) {
      this.prefilled.set(before, this.refilled(arr, before));
      return;
    }
    // a larger sheaf replaced it; the old one was returned
    this.prefilled.set(after, contents(this.s, after));
    this.prefilled.set(before, arr);
    this.returnSheaf(cpu, before, () => {});
    expect(r).toBe(0);
  }

  /** `kmem_cache_shrink`: every online CPU flushed, the barns emptied. */
  shrink(online: (cpu: number) => boolean, rcuBefore: (SlabSheaf | null)[]): void {
    for (let cpu = 0; cpu < this.main.length; cpu++) {
      if (!online(cpu)) continue;
      this.flushCpu(cpu, rcuBefore[cpu] ?? null);
    }
    for (let n = 0; n < this.barnFull.length; n++) {
      this.barnFull[n] = [];
      this.barnEmpty[n] = 0;
    }
  }

  /** Capture the implementation's rcu_free sheaves before a flush submits them. */
  rcuFreeSnapshot(): (SlabSheaf | null)[] {
    return this.s.pcs!.rcuFree.slice();
  }

  /** `pcs_flush_all` / `__pcs_flush_all_cpu`: spare and main to slabs, rcu_free to call_rcu (nobarn). */
  flushCpu(cpu: number, implRcu: SlabSheaf | null): void {
    this.main[cpu] = [];
    this.spare[cpu] = null;
    const r = this.rcuFree[cpu]!;
    if (r !== null) {
      expect(implRcu).not.toBe(null);
      this.inFlight.push({ arr: r, node: this.nodeOf(cpu), nobarn: true, impl: implRcu as SlabSheaf });
      this.rcuFree[cpu] = null;
    }
  }

  /**
   * kvfree_rcu batch callbacks ran in this step: their objects were freed
   * through the normal free path on the CPU each callback ran on, which the
   * oracle does not model. It checks every object that appeared in a sheaf is
   * one the user no longer holds, and adopts the per-CPU sheaves and barns.
   */
  resync(userHolds: (addr: number) => boolean): void {
    this.settle();
    const s = this.s;
    const pcs = s.pcs!;
    const known = new Set<number>();
    const add = (l: Arr | null): void => {
      if (l !== null) for (const a of l) known.add(a);
    };
    this.main.forEach(add);
    this.spare.forEach(add);
    this.rcuFree.forEach(add);
    for (const b of this.barnFull) b.forEach(add);
    for (let cpu = 0; cpu < this.main.length; cpu++) {
      this.main[cpu] = contents(s, pcs.main[cpu]!);
      const sp = pcs.spare[cpu] ?? null;
      this.spare[cpu] = sp === null ? null : contents(s, sp);
      const rf = pcs.rcuFree[cpu] ?? null;
      expect(rf === null ? null : contents(s, rf)).toEqual(this.rcuFree[cpu]);
      for (const a of this.main[cpu]!.concat(this.spare[cpu] ?? [])) {
        if (!known.has(a)) expect(userHolds(a), `object ${a} in a sheaf is held by the user`).toBe(false);
      }
    }
    for (let n = 0; n < this.barnFull.length; n++) {
      this.barnFull[n] = s.barns[n]!.sheavesFull.map((sh) => contents(s, sh));
      this.barnEmpty[n] = s.barns[n]!.nrEmpty;
    }
  }

  /** The allocator holds exactly what the oracle predicts. */
  compare(): void {
    const settled = this.settle();
    const s = this.s;
    const pcs = s.pcs!;
    for (let cpu = 0; cpu < this.main.length; cpu++) {
      expect(contents(s, pcs.main[cpu]!), `cpu ${cpu} main of ${s.name}`).toEqual(this.main[cpu]);
      const sp = pcs.spare[cpu] ?? null;
      expect(sp === null ? null : contents(s, sp), `cpu ${cpu} spare of ${s.name}`).toEqual(this.spare[cpu]);
      const rf = pcs.rcuFree[cpu] ?? null;
      expect(rf === null ? null : contents(s, rf), `cpu ${cpu} rcu_free of ${s.name}`).toEqual(this.rcuFree[cpu]);
    }
    for (let n = 0; n < this.barnFull.length; n++) {
      const b = s.barns[n]!;
      const implFull = b.sheavesFull.map((sh) => contents(s, sh));
      // rcu_free sheaves ending one grace period reach the barn in callback
      // order (per CPU), which the oracle does not model: same sheaves, order adopted
      if (settled) {
        const key = (l: Arr[]): string[] => l.map((x) => x.join(',')).sort();
        expect(key(implFull), `barn ${n} full of ${s.name}`).toEqual(key(this.barnFull[n]!));
        this.barnFull[n] = implFull;
      } else expect(implFull, `barn ${n} full of ${s.name}`).toEqual(this.barnFull[n]);
      expect(b.nrEmpty, `barn ${n} empty of ${s.name}`).toBe(this.barnEmpty[n]);
    }
    for (const [sh, arr] of this.prefilled) expect(contents(s, sh), `prefilled of ${s.name}`).toEqual(arr);
  }
}
