/**
 * DOC: the kernel model's slab caches and a seeded workload over them.
 *
 * Boot creates the SLUB allocator on the machine (with the kmalloc caches)
 * and the caches the mm code itself uses, with the sizes and flags of a
 * v6.18 x86-64 kernel: `vm_area_struct` and `maple_node` have percpu sheaves
 * (as the sheaves series enables for them), `anon_vma` is
 * SLAB_TYPESAFE_BY_RCU. The workload plays processes mapping and unmapping
 * VMAs on every CPU, freeing some objects with kfree_rcu, and kmalloc traffic.
 */
import { GFP_KERNEL, type Machine } from '@mm/machine';
import {
  createSlabEnv,
  createSlubAllocator,
  type KmemCache,
  kfree,
  kfreeRcu,
  kmalloc,
  kmemCacheAlloc,
  kmemCacheCreate,
  kmemCacheFree,
  kvfreeRcuBarrier,
  SLAB_ACCOUNT,
  SLAB_HWCACHE_ALIGN,
  SLAB_TYPESAFE_BY_RCU,
  type SlubAllocator,
  slabValidate,
} from '@mm/slab-sheaves';

/** The caches the kernel model creates at boot. */
export interface MmCaches {
  /** The SLUB allocator all of the caches below are created in. */
  readonly slab: SlubAllocator;
  /** `vm_area_struct` (184 bytes, sheaves of 32). @kernel vm_area_cachep (kernel/fork.c) */
  readonly vmArea: KmemCache;
  /** `maple_node` (256 bytes, 256-aligned, sheaves of 32). @kernel maple_node_cache (lib/maple_tree.c) */
  readonly mapleNode: KmemCache;
  /** `anon_vma` (88 bytes, SLAB_TYPESAFE_BY_RCU). @kernel anon_vma_cachep (mm/rmap.c) */
  readonly anonVma: KmemCache;
  /** `anon_vma_chain` (64 bytes). @kernel anon_vma_chain_cachep (mm/rmap.c) */
  readonly anonVmaChain: KmemCache;
}

/** Object sizes of a v6.18 x86-64 build (pahole). */
const VM_AREA_STRUCT_SIZE = 184;
const MAPLE_NODE_SIZE = 256;
const ANON_VMA_SIZE = 88;
const ANON_VMA_CHAIN_SIZE = 64;
/** Sheaf capacity the kernel gives vm_area_struct and maple_node. */
const SHEAF_CAPACITY = 32;

/**
 * Create the slab allocator and the mm caches on `machine`.
 * @kernel kmem_cache_init / proc_caches_init / maple_tree_init / anon_vma_init
 */
export function createMmCaches(machine: Machine): MmCaches {
  const slab = createSlubAllocator(createSlabEnv(machine));
  const vmArea = kmemCacheCreate(slab, 'vm_area_struct', VM_AREA_STRUCT_SIZE, {
    flags: SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT,
    sheafCapacity: SHEAF_CAPACITY,
  });
  const mapleNode = kmemCacheCreate(slab, 'maple_node', MAPLE_NODE_SIZE, {
    align: MAPLE_NODE_SIZE,
    sheafCapacity: SHEAF_CAPACITY,
  });
  const anonVma = kmemCacheCreate(slab, 'anon_vma', ANON_VMA_SIZE, {
    flags: SLAB_TYPESAFE_BY_RCU | SLAB_ACCOUNT,
  });
  const anonVmaChain = kmemCacheCreate(slab, 'anon_vma_chain', ANON_VMA_CHAIN_SIZE, {
    flags: SLAB_ACCOUNT,
  });
  return { slab, vmArea, mapleNode, anonVma, anonVmaChain };
}

/** What {@link slabWorkload} did. */
export interface SlabWorkloadSummary {
  readonly vmasAllocated: number;
  readonly vmasFreed: number;
  readonly vmasFreedByRcu: number;
  readonly kmallocs: number;
}

/**
 * A seeded workload on every CPU: processes map VMAs (a vm_area_struct and
 * an anon_vma each, plus kmalloc'd names), then unmap a random part, some of
 * it through kfree_rcu as VMA freeing does; ends after an RCU barrier, with
 * the allocator validated.
 */
export function slabWorkload(machine: Machine, caches: MmCaches): SlabWorkloadSummary {
  const rng = machine.prng.stream('demo-slab');
  const { slab, vmArea, anonVma } = caches;
  const live: { cache: KmemCache; obj: number }[] = [];
  const strings: number[] = [];
  let vmasAllocated = 0;
  let vmasFreed = 0;
  let vmasFreedByRcu = 0;
  let kmallocs = 0;
  const nrCpus = machine.topology.nrCpus;
  const cpusUsed = Math.min(nrCpus, 8);
  for (let round = 0; round < 4; round++) {
    for (let c = 0; c < cpusUsed; c++) {
      const cpu = Math.floor((c * nrCpus) / cpusUsed);
      machine.cpus.runOn(cpu, () => {
        const n = 50 + rng.below(100);
        for (let i = 0; i < n; i++) {
          const vma = kmemCacheAlloc(vmArea, GFP_KERNEL);
          if (vma < 0) continue;
          vmasAllocated++;
          live.push({ cache: vmArea, obj: vma });
          if (rng.below(4) === 0) {
            const av = kmemCacheAlloc(anonVma, GFP_KERNEL);
            if (av >= 0) live.push({ cache: anonVma, obj: av });
          }
          if (rng.below(8) === 0) {
            const s = kmalloc(slab, 8 + rng.below(500), GFP_KERNEL);
            if (s > 0) {
              strings.push(s);
              kmallocs++;
            }
          }
        }
        // munmap a random part of what this CPU's processes hold
        const frees = rng.below(live.length + 1);
        for (let i = 0; i < frees && live.length > 0; i++) {
          const j = rng.below(live.length);
          const victim = live[j] as { cache: KmemCache; obj: number };
          live[j] = live[live.length - 1] as { cache: KmemCache; obj: number };
          live.pop();
          if (victim.cache === vmArea) {
            vmasFreed++;
            if (rng.below(2) === 0) {
              kfreeRcu(slab, victim.obj);
              vmasFreedByRcu++;
              continue;
            }
          }
          kmemCacheFree(victim.cache, victim.obj);
        }
        for (let i = strings.length - 1; i >= 0 && rng.below(3) === 0; i--) kfree(slab, strings.pop() as number);
      });
    }
  }
  machine.cpus.runOn(0, () => kvfreeRcuBarrier(slab));
  slabValidate(slab);
  return { vmasAllocated, vmasFreed, vmasFreedByRcu, kmallocs };
}
