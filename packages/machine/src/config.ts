/**
 * DOC: machine configuration, presets and validation.
 *
 * A {@link MachineConfig} is what a user writes (every field optional, on top
 * of a preset); {@link resolveConfig} checks it and returns a complete,
 * frozen {@link ResolvedMachineConfig}, or throws {@link ConfigError} naming
 * the offending field. Nothing is allocated for memory here: the memmap is
 * built lazily per section when pages are first touched.
 */
import { type CostTable, DEFAULT_COSTS } from './cost.js';
import { ConfigError } from './errors.js';

/** Architectures the model knows (their page sizes and section sizes differ). */
export const ARCHES = ['x86_64', 'arm64', 'riscv64', 'ppc64le', 's390x'] as const;
/** An architecture name. */
export type ArchName = (typeof ARCHES)[number];

/** Base page sizes each architecture accepts (arm64: 4K, 16K and 64K granules; ppc64: 4K and 64K). */
export const ARCH_PAGE_SIZES: Readonly<Record<ArchName, readonly number[]>> = {
  x86_64: [4096],
  arm64: [4096, 16384, 65536],
  riscv64: [4096],
  ppc64le: [4096, 65536],
  s390x: [4096],
};

/**
 * log2 of the memory section size (SECTION_SIZE_BITS): 128 MiB on x86-64 and on
 * arm64 with 4K or 16K pages, 512 MiB on arm64 with 64K pages, 16 MiB on ppc64
 * (its SECTION_SIZE_BITS is 24), 256 MiB on s390 (28), 128 MiB on riscv (27).
 */
export function sectionSizeBits(arch: ArchName, pageSize: number): number {
  switch (arch) {
    case 'arm64':
      return pageSize === 65536 ? 29 : 27;
    case 'ppc64le':
      return 24;
    case 's390x':
      return 28;
    default:
      return 27;
  }
}

/** Local NUMA distance (LOCAL_DISTANCE). */
export const LOCAL_DISTANCE = 10;
/** Default remote NUMA distance (REMOTE_DISTANCE). */
export const REMOTE_DISTANCE = 20;
/** Largest CPU count the model accepts (a generous NR_CPUS). */
export const NR_CPUS_MAX = 8192;
/** Largest node count the model accepts (MAX_NUMNODES with NODES_SHIFT 10). */
export const MAX_NUMNODES = 1024;

/** One NUMA node: its memory and how many CPUs it has. */
export interface NodeConfig {
  /** Bytes of memory; a multiple of the section size. 0 makes a memoryless node. */
  readonly memoryBytes: number;
  /** CPUs on this node; 0 makes a CPU-less node (CXL-style memory). */
  readonly cpus: number;
}

/**
 * TLB geometry of each CPU. Entry counts are per page size; `ways` is the
 * associativity (entries / ways sets). `asidBits` 0 means no PCID/ASID tagging.
 */
export interface TlbGeometry {
  /** Entries for base pages. */
  readonly entries4k: number;
  /** Associativity of the base-page TLB. */
  readonly ways4k: number;
  /** Entries for PMD-sized leaves (2 MiB with 4K pages). */
  readonly entries2m: number;
  /** Associativity of the PMD-leaf TLB. */
  readonly ways2m: number;
  /** Entries for PUD-sized leaves (1 GiB with 4K pages). */
  readonly entries1g: number;
  /** Associativity of the PUD-leaf TLB. */
  readonly ways1g: number;
  /** Width of the PCID/ASID tag (0: untagged, every switch flushes). */
  readonly asidBits: number;
  /** The CPU can invalidate other CPUs' TLBs without IPIs (INVLPGB, arm64 TLBI IS). */
  readonly broadcastFlush: boolean;
}

/** Default TLB geometry: a unified second-level TLB of a recent x86-64 core, 12-bit PCIDs. */
export const DEFAULT_TLB: TlbGeometry = Object.freeze({
  entries4k: 1536,
  ways4k: 12,
  entries2m: 1536,
  ways2m: 12,
  entries1g: 16,
  ways1g: 4,
  asidBits: 12,
  broadcastFlush: false,
});

/** Tunables of the physical memory model. */
export interface MemOptions {
  /** Share of each node (percent, whole sections) given to ZONE_MOVABLE (`movablecore=N%`); default 0. */
  readonly movablecorePercent?: number;
  /** `vm.min_free_kbytes`; default computed like the kernel (sqrt of lowmem × 16). */
  readonly minFreeKbytes?: number;
  /** `vm.watermark_scale_factor` (default 10, i.e. 0.1% of a zone between watermarks). */
  readonly watermarkScaleFactor?: number;
  /** Cap on the watermark boost after a fragmenting fallback, in 1/10000 of the high watermark (`vm.watermark_boost_factor`, default 15000; 0 disables). */
  readonly watermarkBoostFactor?: number;
  /** `vm.percpu_pagelist_high_fraction` (default 0: pcp high auto-tuned from the low watermark). */
  readonly percpuPagelistHighFraction?: number;
  /** Per-CPU data cache slice in bytes, deciding PCPF_FREE_HIGH_BATCH (default 2 MiB). */
  readonly pcpCacheSliceBytes?: number;
}

/** What a user passes to `createMachine`; every field is optional. */
export interface MachineConfig {
  /** Start from a preset (default `"small"`); the other fields override it. */
  readonly preset?: PresetName;
  /** Architecture whose page-table and TLB rules apply. */
  readonly arch?: ArchName;
  /** Base page size in bytes (4096 default; arm64 also 16384 and 65536). */
  readonly pageSize?: number;
  /** Seed of every random stream of the machine. */
  readonly seed?: number;
  /** NUMA nodes: memory and CPUs of each. */
  readonly nodes?: readonly NodeConfig[];
  /** Node distance matrix (SLIT): 10 on the diagonal, symmetric, > 10 elsewhere, at most 255. */
  readonly distances?: readonly (readonly number[])[];
  /** Overrides of the cost table. */
  readonly costs?: Partial<CostTable>;
  /** Overrides of the TLB geometry. */
  readonly tlb?: Partial<TlbGeometry>;
  /** Model a PREEMPT_RT kernel (spinlocks become sleeping locks; localtry trylock fails in hard IRQ/NMI). */
  readonly preemptRt?: boolean;
  /** Physical-memory tunables (ZONE_MOVABLE share, min_free_kbytes, watermark_scale_factor, ...). */
  readonly mem?: MemOptions;
}

/** A checked, complete configuration. */
export interface ResolvedMachineConfig {
  /** Architecture modelled; picks the allowed page sizes and the section size. */
  readonly arch: ArchName;
  /** Base page size in bytes (`PAGE_SIZE`). */
  readonly pageSize: number;
  /** Seed of every random stream. */
  readonly seed: number;
  /** NUMA nodes. */
  readonly nodes: readonly NodeConfig[];
  /** Node distance matrix (`node_distance()`). */
  readonly distances: readonly (readonly number[])[];
  /** Cost table in virtual ns. */
  readonly costs: CostTable;
  /** TLB geometry. */
  readonly tlb: TlbGeometry;
  /** Model a PREEMPT_RT kernel: spinlock_t and local_lock_t become sleeping locks (`CONFIG_PREEMPT_RT`). */
  readonly preemptRt: boolean;
  /** Physical-memory tunables. */
  readonly mem: MemOptions;
}

const GiB = 1024 ** 3;

/** Preset names. */
export type PresetName = 'small' | 'server2s' | 'large';

/**
 * Preset machines: `small` (1 node, 4 CPUs, 1 GiB: the demo default),
 * `server2s` (2 sockets × 16 CPUs × 32 GiB, SLIT distance 21 as such machines
 * report), `large` (8 nodes × 32 CPUs × 128 GiB = 256 CPUs and 1 TiB, two
 * four-node groups: 21 inside a group, 31 across).
 */
export const PRESETS: Readonly<Record<PresetName, MachineConfig>> = {
  small: { arch: 'x86_64', pageSize: 4096, seed: 1, nodes: [{ memoryBytes: 1 * GiB, cpus: 4 }] },
  server2s: {
    arch: 'x86_64',
    pageSize: 4096,
    seed: 1,
    nodes: [
      { memoryBytes: 32 * GiB, cpus: 16 },
      { memoryBytes: 32 * GiB, cpus: 16 },
    ],
    distances: [
      [10, 21],
      [21, 10],
    ],
  },
  large: {
    arch: 'x86_64',
    pageSize: 4096,
    seed: 1,
    nodes: Array.from({ length: 8 }, () => ({ memoryBytes: 128 * GiB, cpus: 32 })),
    distances: Array.from({ length: 8 }, (_, a) =>
      Array.from({ length: 8 }, (_, b) => (a === b ? 10 : a >> 2 === b >> 2 ? 21 : 31)),
    ),
  },
};

/** The fields of {@link MachineConfig}. */
const CONFIG_KEYS: readonly string[] = [
  'preset',
  'arch',
  'pageSize',
  'seed',
  'nodes',
  'distances',
  'costs',
  'tlb',
  'preemptRt',
  'mem',
];
/** The fields of {@link MemOptions}. */
const MEM_KEYS: readonly string[] = [
  'movablecorePercent',
  'minFreeKbytes',
  'watermarkScaleFactor',
  'watermarkBoostFactor',
  'percpuPagelistHighFraction',
  'pcpCacheSliceBytes',
];

/** A value as an error message shows it (strings quoted). */
function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** `obj` is a plain object whose own keys are all in `known`; else a ConfigError naming the first stray field. */
function checkKeys(prefix: string, obj: unknown, known: readonly string[]): void {
  const field = prefix === '' ? 'config' : prefix.slice(0, -1);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError(field, `must be an object, got ${describe(obj)}`);
  }
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new ConfigError(`${prefix}${k}`, `unknown field (known: ${known.join(', ')})`);
  }
}

/** The memory tunables: known fields, each a number in its range (the sysctl handlers' checks). */
function checkMem(mem: MemOptions): void {
  checkKeys('mem.', mem, MEM_KEYS);
  const check = (k: keyof MemOptions, ok: (v: number) => boolean, what: string): void => {
    const v = mem[k];
    if (v !== undefined && (typeof v !== 'number' || !ok(v))) {
      throw new ConfigError(`mem.${k}`, `must be ${what}, got ${describe(v)}`);
    }
  };
  check('movablecorePercent', (v) => v >= 0 && v <= 100, 'a number in 0..100');
  check('minFreeKbytes', (v) => Number.isSafeInteger(v) && v >= 0, 'a non-negative integer');
  check('watermarkScaleFactor', (v) => Number.isInteger(v) && v >= 1 && v <= 3000, 'an integer in 1..3000');
  check('watermarkBoostFactor', (v) => Number.isSafeInteger(v) && v >= 0, 'a non-negative integer');
  check('percpuPagelistHighFraction', (v) => Number.isInteger(v) && (v === 0 || v >= 8), 'an integer, 0 or >= 8');
  check('pcpCacheSliceBytes', (v) => Number.isSafeInteger(v) && v >= 0, 'a non-negative integer');
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Check `config` on top of its preset and return the complete configuration.
 * @throws ConfigError naming the first offending field.
 */
export function resolveConfig(config: MachineConfig = {}): ResolvedMachineConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigError('config', `must be an object, got ${describe(config)}`);
  }
  checkKeys('', config, CONFIG_KEYS);
  const presetName = config.preset ?? 'small';
  // Own keys only: 'toString', '__proto__' and 'constructor' are on every object's prototype chain.
  if (typeof presetName !== 'string' || !Object.hasOwn(PRESETS, presetName)) {
    throw new ConfigError(
      'preset',
      `unknown preset ${describe(presetName)} (known: ${Object.keys(PRESETS).join(', ')})`,
    );
  }
  const preset = PRESETS[presetName];

  const arch = config.arch ?? preset.arch ?? 'x86_64';
  if (!(ARCHES as readonly string[]).includes(arch)) {
    throw new ConfigError('arch', `unknown architecture "${String(arch)}" (known: ${ARCHES.join(', ')})`);
  }
  const pageSize = config.pageSize ?? (config.arch !== undefined ? 4096 : (preset.pageSize ?? 4096));
  if (!ARCH_PAGE_SIZES[arch].includes(pageSize)) {
    throw new ConfigError(
      'pageSize',
      `${pageSize} is not a base page size of ${arch} (${ARCH_PAGE_SIZES[arch].join(', ')})`,
    );
  }
  const seed = config.seed ?? preset.seed ?? 1;
  // Every accepted seed has its own streams (prng.ts uses all 53 bits); the
  // rest is refused rather than folded onto another seed.
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new ConfigError(
      'seed',
      `must be an integer in 0..2^53-1 (Number.MAX_SAFE_INTEGER), got ${describe(seed)}` +
        (typeof seed === 'number' && Number.isInteger(seed) && seed > Number.MAX_SAFE_INTEGER
          ? ' (above 2^53 a number no longer holds every integer, so the seed would not be the one written)'
          : ''),
    );
  }

  const nodes = config.nodes ?? preset.nodes ?? [];
  if (!Array.isArray(nodes) || nodes.length === 0) throw new ConfigError('nodes', 'at least one node is needed');
  if (nodes.length > MAX_NUMNODES) throw new ConfigError('nodes', `at most ${MAX_NUMNODES} nodes`);
  const sectionBytes = 2 ** sectionSizeBits(arch, pageSize);
  let cpus = 0;
  let memory = 0;
  nodes.forEach((n, i) => {
    if (!isCount(n.cpus)) throw new ConfigError(`nodes[${i}].cpus`, `must be a non-negative integer, got ${n.cpus}`);
    if (!isCount(n.memoryBytes)) {
      throw new ConfigError(`nodes[${i}].memoryBytes`, `must be a non-negative integer, got ${n.memoryBytes}`);
    }
    if (n.memoryBytes % sectionBytes !== 0) {
      throw new ConfigError(
        `nodes[${i}].memoryBytes`,
        `${n.memoryBytes} is not a multiple of the ${sectionBytes / 2 ** 20} MiB memory section size`,
      );
    }
    cpus += n.cpus;
    memory += n.memoryBytes;
  });
  if (cpus === 0) throw new ConfigError('nodes', 'the machine has zero CPUs');
  if (cpus > NR_CPUS_MAX) throw new ConfigError('nodes', `${cpus} CPUs is more than NR_CPUS (${NR_CPUS_MAX})`);
  if (memory === 0) throw new ConfigError('nodes', 'the machine has no memory');
  if (!Number.isSafeInteger(memory / pageSize) || memory > 2 ** 52) {
    throw new ConfigError('nodes', 'total memory is larger than the model supports (4 PiB)');
  }

  const nr = nodes.length;
  const distances =
    config.distances ??
    (config.nodes === undefined && preset.distances !== undefined ? preset.distances : undefined) ??
    Array.from({ length: nr }, (_, a) =>
      Array.from({ length: nr }, (_, b) => (a === b ? LOCAL_DISTANCE : REMOTE_DISTANCE)),
    );
  if (distances.length !== nr) throw new ConfigError('distances', `needs ${nr} rows, got ${distances.length}`);
  for (let a = 0; a < nr; a++) {
    const row = distances[a];
    if (row === undefined || row.length !== nr) {
      throw new ConfigError(`distances[${a}]`, `needs ${nr} entries, got ${row?.length ?? 0}`);
    }
    for (let b = 0; b < nr; b++) {
      const d = row[b] as number;
      const field = `distances[${a}][${b}]`;
      if (!Number.isInteger(d) || d <= 0 || d > 255)
        throw new ConfigError(field, `must be an integer in 1..255, got ${d}`);
      if (a === b && d !== LOCAL_DISTANCE)
        throw new ConfigError(field, `local distance must be ${LOCAL_DISTANCE}, got ${d}`);
      if (a !== b && d <= LOCAL_DISTANCE) {
        throw new ConfigError(field, `remote distance must be > ${LOCAL_DISTANCE}, got ${d}`);
      }
      if (distances[b]?.[a] !== d)
        throw new ConfigError(field, `asymmetric: ${d} but distances[${b}][${a}] is ${distances[b]?.[a]}`);
    }
  }

  if (config.costs !== undefined) checkKeys('costs.', config.costs, Object.keys(DEFAULT_COSTS));
  if (config.tlb !== undefined) checkKeys('tlb.', config.tlb, Object.keys(DEFAULT_TLB));
  if (config.mem !== undefined) checkMem(config.mem);
  if (config.preemptRt !== undefined && typeof config.preemptRt !== 'boolean') {
    throw new ConfigError('preemptRt', `must be a boolean, got ${describe(config.preemptRt)}`);
  }
  const costs: CostTable = Object.freeze({ ...DEFAULT_COSTS, ...preset.costs, ...config.costs });
  for (const [k, v] of Object.entries(costs)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ConfigError(`costs.${k}`, `must be a non-negative number of ns, got ${v}`);
    }
  }
  const tlb: TlbGeometry = Object.freeze({ ...DEFAULT_TLB, ...preset.tlb, ...config.tlb });
  for (const size of ['4k', '2m', '1g'] as const) {
    const entries = tlb[`entries${size}`];
    const ways = tlb[`ways${size}`];
    if (!isCount(entries))
      throw new ConfigError(`tlb.entries${size}`, `must be a non-negative integer, got ${entries}`);
    if (!isCount(ways) || ways === 0)
      throw new ConfigError(`tlb.ways${size}`, `must be a positive integer, got ${ways}`);
    if (entries % ways !== 0)
      throw new ConfigError(`tlb.entries${size}`, `${entries} is not a multiple of ways (${ways})`);
  }
  if (!isCount(tlb.asidBits) || tlb.asidBits > 16) {
    throw new ConfigError('tlb.asidBits', `must be an integer in 0..16, got ${tlb.asidBits}`);
  }

  return Object.freeze({
    arch,
    pageSize,
    seed,
    nodes: Object.freeze(nodes.map((n) => Object.freeze({ memoryBytes: n.memoryBytes, cpus: n.cpus }))),
    distances: Object.freeze(distances.map((r) => Object.freeze([...r]))),
    costs,
    tlb,
    preemptRt: config.preemptRt ?? preset.preemptRt ?? false,
    mem: Object.freeze({ ...preset.mem, ...config.mem }),
  });
}
