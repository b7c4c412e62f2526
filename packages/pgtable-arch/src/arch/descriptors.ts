/**
 * DOC: the supported configurations: x86-64 4-level and 5-level (LA57),
 * x86 32-bit two-level, arm64 with 4K/16K/64K granules and every VA size
 * its Kconfig offers, riscv64 Sv39/Sv48/Sv57, powerpc64 radix and hash with
 * 4K and 64K pages, and sparc64.
 *
 * Geometry comes from `arch/x86/include/asm/pgtable_64_types.h`,
 * `pgtable-2level_types.h`, `arch/arm64/include/asm/pgtable-hwdef.h`
 * (`ARM64_HW_PGTABLE_LEVELS`, `ARM64_HW_PGTABLE_LEVEL_SHIFT`),
 * `arch/riscv/include/asm/pgtable-64.h`,
 * `arch/powerpc/include/asm/book3s/64/{radix,hash}-{4k,64k}.h` and
 * `arch/sparc/include/asm/pgtable_64.h`; features from the architectures'
 * Kconfig as of Linux 6.18 (for instance x86 selects MMU_GATHER_RCU_TABLE_FREE
 * unconditionally since 6.15 and is the only one with ARCH_SUPPORTS_PT_RECLAIM).
 */
import { MmError } from '@mm/machine';
import { Arm64Pte } from './arm64-pte.js';
import { type ArchDescriptor, makeLevels } from './descriptor.js';
import { GenericPte } from './generic-pte.js';
import { RiscvPte } from './riscv-pte.js';
import { X86Pte } from './x86-pte.js';

const PMD_LEAF = 1 << 1;
const PUD_LEAF = 1 << 2;
const PTE_LEAF = 1 << 0;

/** x86-64 with 4-level paging (48-bit VA; P4D folded at run time). */
export const X86_64: ArchDescriptor = {
  name: 'x86_64',
  family: 'x86_64',
  machineArch: 'x86_64',
  description: 'x86-64, 4-level paging, 48-bit VA',
  pageShift: 12,
  vaBits: 48,
  physBits: 46,
  levels: makeLevels([
    [12, 512],
    [21, 512],
    [30, 512],
    [39, 1],
    [39, 512],
  ]),
  leafLevels: PTE_LEAF | PMD_LEAF | PUD_LEAF,
  contPtes: 0,
  contPmds: 0,
  hwYoung: true,
  hwDirty: true,
  hwNonleafYoung: true,
  softDirty: true,
  uffdWp: true,
  tlbFlush: 'ipi',
  tlbFlushCeilingPages: 33,
  tableFree: true,
  rcuTableFree: true,
  tableInvalidate: true,
  mergeVmas: true,
  ptReclaim: true,
  lazyMmu: 'none',
  lazyMmuBatch: 0,
  splitPmdPtlock: true,
  hasPtdump: true,
  hasDebugWx: true,
  haveMovePmd: true,
  haveMovePud: true,
  swpTypeBits: 5,
  swapLayout: 'type 59-63, ~offset 9-58, exclusive 3 (PWT), uffd-wp 2, soft-dirty 1',
  codec: () => new X86Pte(true),
};

/** x86-64 with 5-level paging (LA57, 57-bit VA). */
export const X86_64_LA57: ArchDescriptor = {
  ...X86_64,
  name: 'x86_64-la57',
  description: 'x86-64, 5-level paging (LA57), 57-bit VA',
  vaBits: 57,
  physBits: 52,
  levels: makeLevels([
    [12, 512],
    [21, 512],
    [30, 512],
    [39, 512],
    [48, 512],
  ]),
};

/** 32-bit x86 without PAE: two levels of 1024 32-bit entries (for contrast). */
export const X86_32: ArchDescriptor = {
  ...X86_64,
  name: 'x86',
  family: 'x86',
  description: 'x86 32-bit, 2-level (non-PAE), 4 MiB PSE pages',
  // move_normal_pud() needs CONFIG_PGTABLE_LEVELS > 2.
  haveMovePud: false,
  vaBits: 32,
  physBits: 32,
  levels: makeLevels([
    [12, 1024],
    [22, 1],
    [22, 1],
    [22, 1],
    [22, 1024],
  ]),
  leafLevels: PTE_LEAF | PMD_LEAF,
  softDirty: false,
  uffdWp: false,
  // x86 selects MMU_GATHER_RCU_TABLE_FREE for 32-bit too.
  ptReclaim: true,
  splitPmdPtlock: false,
  swapLayout: 'type 1-5, offset 9-31, exclusive 7 (PSE)',
  codec: () => new X86Pte(false),
};

/** An arm64 configuration (see `arm64Descriptor`). */
export interface Arm64Options {
  /** Granule: 4096, 16384 or 65536. */
  readonly pageSize: 4096 | 16384 | 65536;
  /** VA_BITS: 4K: 39, 48, 52; 16K: 36, 47, 48, 52; 64K: 42, 48, 52. */
  readonly vaBits: number;
  /** FEAT_HAFDBS: hardware access flag and dirty-bit management (default true). */
  readonly hafdbs?: boolean;
}

const ARM64_VA: Record<number, readonly number[]> = {
  4096: [39, 48, 52],
  16384: [36, 47, 48, 52],
  65536: [42, 48, 52],
};

/**
 * The arm64 geometry for a granule and VA size:
 * levels = (VA_BITS - 4) / (PAGE_SHIFT - 3), level n shifts by
 * (PAGE_SHIFT - 3) * (4 - n) + 3, and the top table has 2^(VA_BITS - PGDIR_SHIFT) entries.
 * @kernel ARM64_HW_PGTABLE_LEVELS / ARM64_HW_PGTABLE_LEVEL_SHIFT (arch/arm64/include/asm/pgtable-hwdef.h)
 */
export function arm64Descriptor(o: Arm64Options): ArchDescriptor {
  const ps = Math.log2(o.pageSize);
  const allowed = ARM64_VA[o.pageSize];
  if (allowed === undefined || !allowed.includes(o.vaBits)) {
    throw new MmError(
      'EINVAL',
      `pgtable: arm64 with ${o.pageSize / 1024}K pages has no ${o.vaBits}-bit VA configuration (${allowed?.join(', ') ?? 'none'})`,
    );
  }
  const t = ps - 3;
  const levels = Math.floor((o.vaBits - 4) / t);
  const shiftOf = (n: number): number => t * (4 - n) + 3;
  const pgdirShift = shiftOf(4 - levels);
  // Hardware level 3 is the PTE level, 2 PMD, 1 PUD, 0 P4D (5 levels: -1 PGD).
  const spec: [number, number][] = [
    [ps, 2 ** t],
    [shiftOf(2), levels >= 3 ? 2 ** t : 1],
    [shiftOf(1), levels >= 4 ? 2 ** t : 1],
    [shiftOf(0), levels >= 5 ? 2 ** t : 1],
    [pgdirShift, 2 ** (o.vaBits - pgdirShift)],
  ];
  const hafdbs = o.hafdbs ?? true;
  const contPtes = { 4096: 16, 16384: 128, 65536: 32 }[o.pageSize];
  const contPmds = { 4096: 16, 16384: 32, 65536: 32 }[o.pageSize];
  const pmdShift = shiftOf(2);
  const pudShift = shiftOf(1);
  return {
    name: `arm64-${o.pageSize / 1024}k-${o.vaBits}${hafdbs ? '' : '-nohafdbs'}`,
    family: 'arm64',
    machineArch: 'arm64',
    description: `arm64, ${o.pageSize / 1024}K granule, ${o.vaBits}-bit VA, ${levels} levels${o.vaBits === 52 ? (o.pageSize === 65536 ? ' (FEAT_LVA)' : ' (LPA2)') : ''}`,
    pageShift: ps,
    vaBits: o.vaBits,
    physBits: 48,
    levels: makeLevels(spec),
    // PUD block mappings only with 4K pages (pud_sect_supported()); PMD blocks need a PMD level.
    leafLevels: PTE_LEAF | (levels >= 2 ? PMD_LEAF : 0) | (o.pageSize === 4096 && levels >= 3 ? PUD_LEAF : 0),
    contPtes,
    contPmds,
    hwYoung: hafdbs,
    hwDirty: hafdbs,
    hwNonleafYoung: false,
    softDirty: false,
    uffdWp: true,
    tlbFlush: 'broadcast',
    tlbFlushCeilingPages: 2 ** t,
    tableFree: true,
    rcuTableFree: true,
    tableInvalidate: true,
    mergeVmas: false,
    ptReclaim: true,
    lazyMmu: 'arm64',
    lazyMmuBatch: 0,
    splitPmdPtlock: true,
    hasPtdump: true,
    hasDebugWx: true,
    haveMovePmd: true,
    haveMovePud: levels > 2,
    swpTypeBits: 5,
    swapLayout: 'type 6-10, offset 12-61, exclusive 2, uffd-wp 3 (no soft-dirty)',
    codec: () => new Arm64Pte(ps, pmdShift, pudShift, levels),
  };
}

/** A riscv64 configuration (see `riscvDescriptor`). */
export interface RiscvOptions {
  /** satp mode: 39, 48 or 57. */
  readonly sv: 39 | 48 | 57;
  /** Svadu: hardware A/D updates (default false: Svade, A/D faults). */
  readonly svadu?: boolean;
  /** Svrsw60t59b: soft-dirty and uffd-wp bits (Linux 7.2; default false). */
  readonly svrsw60t59b?: boolean;
}

/** A riscv64 Sv39/Sv48/Sv57 descriptor. */
export function riscvDescriptor(o: RiscvOptions): ArchDescriptor {
  const levels = o.sv === 39 ? 3 : o.sv === 48 ? 4 : 5;
  const svadu = o.svadu ?? false;
  const sw = o.svrsw60t59b ?? false;
  return {
    name: `riscv64-sv${o.sv}${svadu ? '-svadu' : ''}${sw ? '-svrsw60t59b' : ''}`,
    family: 'riscv64',
    machineArch: 'riscv64',
    description: `riscv64 Sv${o.sv}, ${levels} levels${svadu ? ', Svadu' : ', Svade (A/D by software)'}`,
    pageShift: 12,
    vaBits: o.sv,
    physBits: 56,
    levels: makeLevels([
      [12, 512],
      [21, 512],
      [30, levels >= 4 ? 512 : 1],
      [39, levels >= 5 ? 512 : 1],
      [levels === 3 ? 30 : levels === 4 ? 39 : 48, 512],
    ]),
    leafLevels: PTE_LEAF | PMD_LEAF | PUD_LEAF,
    contPtes: 16,
    contPmds: 0,
    hwYoung: svadu,
    hwDirty: svadu,
    hwNonleafYoung: false,
    softDirty: sw,
    uffdWp: sw,
    tlbFlush: 'ipi',
    tlbFlushCeilingPages: 64,
    tableFree: true,
    rcuTableFree: true,
    tableInvalidate: true,
    mergeVmas: false,
    ptReclaim: true,
    lazyMmu: 'none',
    lazyMmuBatch: 0,
    splitPmdPtlock: true,
    hasPtdump: true,
    hasDebugWx: true,
    haveMovePmd: true,
    haveMovePud: true,
    swpTypeBits: 5,
    swapLayout: sw
      ? 'type 7-11, offset 12+, exclusive 6, soft-dirty 3, uffd-wp 4'
      : 'type 7-11, offset 12+, exclusive 6',
    codec: () => new RiscvPte(sw),
  };
}

function ppc(
  name: string,
  description: string,
  pageShift: number,
  idx: readonly [number, number, number, number],
  hash: boolean,
): ArchDescriptor {
  const [pte, pmd, pud, pgd] = idx;
  const pmdShift = pageShift + pte;
  const pudShift = pmdShift + pmd;
  const pgdShift = pudShift + pud;
  return {
    name,
    family: 'powerpc64',
    machineArch: 'ppc64le',
    description,
    pageShift,
    vaBits: pgdShift + pgd,
    physBits: 51,
    levels: makeLevels([
      [pageShift, 2 ** pte],
      [pmdShift, 2 ** pmd],
      [pudShift, 2 ** pud],
      [pgdShift, 1],
      [pgdShift, 2 ** pgd],
    ]),
    leafLevels: PTE_LEAF | PMD_LEAF | PUD_LEAF,
    contPtes: 0,
    contPmds: 0,
    hwYoung: !hash,
    hwDirty: !hash,
    hwNonleafYoung: false,
    softDirty: true,
    uffdWp: false,
    tlbFlush: hash ? 'ipi' : 'broadcast',
    tlbFlushCeilingPages: 32,
    tableFree: true,
    rcuTableFree: true,
    // tlb_needs_table_invalidate() is radix_enabled().
    tableInvalidate: !hash,
    mergeVmas: true,
    ptReclaim: false,
    lazyMmu: hash ? 'ppc-hash' : 'none',
    lazyMmuBatch: hash ? 192 : 0,
    splitPmdPtlock: true,
    hasPtdump: true,
    hasDebugWx: true,
    haveMovePmd: false,
    haveMovePud: false,
    swpTypeBits: 5,
    swapLayout: 'generic layout (see generic-pte.ts)',
    codec: () => new GenericPte({ name, pageShift, softDirty: true, uffdWp: false, pmdShift, pudShift }),
  };
}

/** powerpc64 Book3S radix MMU, 4K pages (index bits 9/9/9/13). */
export const PPC64_RADIX_4K = ppc('ppc64-radix-4k', 'powerpc64 radix, 4K pages, 52-bit VA', 12, [9, 9, 9, 13], false);
/** powerpc64 Book3S radix MMU, 64K pages (index bits 5/9/9/13). */
export const PPC64_RADIX_64K = ppc(
  'ppc64-radix-64k',
  'powerpc64 radix, 64K pages, 52-bit VA',
  16,
  [5, 9, 9, 13],
  false,
);
/** powerpc64 Book3S hash MMU, 4K pages (index bits 9/7/9/9). */
export const PPC64_HASH_4K = ppc('ppc64-hash-4k', 'powerpc64 hash, 4K pages, 46-bit VA', 12, [9, 7, 9, 9], true);
/** powerpc64 Book3S hash MMU, 64K pages (index bits 8/10/10/8). */
export const PPC64_HASH_64K = ppc('ppc64-hash-64k', 'powerpc64 hash, 64K pages, 52-bit VA', 16, [8, 10, 10, 8], true);

/** sparc64: 8K pages, 1024 entries per level, software TLB refill from the TSB. */
export const SPARC64: ArchDescriptor = {
  name: 'sparc64',
  family: 'sparc64',
  machineArch: null,
  description: 'sparc64, 8K pages, 4 levels (P4D folded), TSB refill',
  pageShift: 13,
  vaBits: 53,
  physBits: 47,
  levels: makeLevels([
    [13, 1024],
    [23, 1024],
    [33, 1024],
    [43, 1],
    [43, 1024],
  ]),
  leafLevels: PTE_LEAF | PMD_LEAF | PUD_LEAF,
  contPtes: 0,
  contPmds: 0,
  hwYoung: false,
  hwDirty: false,
  hwNonleafYoung: false,
  softDirty: false,
  uffdWp: false,
  tlbFlush: 'ipi',
  tlbFlushCeilingPages: 192,
  tableFree: true,
  rcuTableFree: true,
  tableInvalidate: false,
  mergeVmas: true,
  ptReclaim: false,
  lazyMmu: 'sparc',
  lazyMmuBatch: 192,
  splitPmdPtlock: false,
  hasPtdump: false,
  hasDebugWx: false,
  haveMovePmd: false,
  haveMovePud: false,
  swpTypeBits: 5,
  swapLayout: 'generic layout (see generic-pte.ts)',
  codec: () =>
    new GenericPte({ name: 'sparc64', pageShift: 13, softDirty: false, uffdWp: false, pmdShift: 23, pudShift: 33 }),
};

/** Every named configuration. */
export const ARCH_DESCRIPTORS: Readonly<Record<string, ArchDescriptor>> = Object.freeze(
  Object.fromEntries(
    [
      X86_64,
      X86_64_LA57,
      X86_32,
      ...[4096, 16384, 65536].flatMap((pageSize) =>
        ARM64_VA[pageSize]!.map((vaBits) => arm64Descriptor({ pageSize: pageSize as 4096 | 16384 | 65536, vaBits })),
      ),
      riscvDescriptor({ sv: 39 }),
      riscvDescriptor({ sv: 48 }),
      riscvDescriptor({ sv: 57 }),
      PPC64_RADIX_4K,
      PPC64_RADIX_64K,
      PPC64_HASH_4K,
      PPC64_HASH_64K,
      SPARC64,
    ].map((d) => [d.name, d]),
  ),
);

/**
 * The descriptor called `name` (a key of {@link ARCH_DESCRIPTORS}).
 * @throws MmError EINVAL for an unknown name.
 */
export function archDescriptor(name: string): ArchDescriptor {
  const d = ARCH_DESCRIPTORS[name];
  if (d === undefined) {
    throw new MmError(
      'EINVAL',
      `pgtable: unknown architecture '${name}' (${Object.keys(ARCH_DESCRIPTORS).join(', ')})`,
    );
  }
  return d;
}

/** The default descriptor for a machine architecture and page size. */
export function defaultDescriptorFor(arch: string, pageSize: number): ArchDescriptor {
  switch (arch) {
    case 'x86_64':
      return X86_64;
    case 'arm64':
      return arm64Descriptor({
        pageSize: pageSize as 4096 | 16384 | 65536,
        vaBits: pageSize === 4096 ? 48 : pageSize === 16384 ? 47 : 48,
      });
    case 'riscv64':
      return riscvDescriptor({ sv: 48 });
    case 'ppc64le':
      return pageSize === 65536 ? PPC64_RADIX_64K : PPC64_RADIX_4K;
    default:
      throw new MmError('EOPNOTSUPP', `pgtable: no page-table descriptor for machine architecture '${arch}'`);
  }
}
