import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createMachine,
  type MachineConfig,
  MmError,
  PRESETS,
  type PresetName,
  resolveConfig,
} from '../src/index.js';

const GiB = 1024 ** 3;

describe('resolveConfig', () => {
  it('defaults to the small preset: one node, 4 CPUs, 1 GiB of 4 KiB pages', () => {
    const c = resolveConfig();
    expect(c.arch).toBe('x86_64');
    expect(c.pageSize).toBe(4096);
    expect(c.nodes).toEqual([{ memoryBytes: GiB, cpus: 4 }]);
    expect(c.distances).toEqual([[10]]);
    expect(c.preemptRt).toBe(false);
  });

  it('fills the default distance matrix with 10 local and 20 remote', () => {
    const c = resolveConfig({
      nodes: [
        { memoryBytes: GiB, cpus: 1 },
        { memoryBytes: GiB, cpus: 1 },
        { memoryBytes: GiB, cpus: 1 },
      ],
    });
    expect(c.distances).toEqual([
      [10, 20, 20],
      [20, 10, 20],
      [20, 20, 10],
    ]);
  });

  it('builds the large preset: 8 nodes, 256 CPUs, 1 TiB', () => {
    const m = createMachine({ preset: 'large' });
    expect(m.topology.nrNodes).toBe(8);
    expect(m.topology.nrCpus).toBe(256);
    expect(m.topology.totalPages * 4096).toBe(1024 * GiB);
    expect(m.topology.distance(0, 3)).toBe(21);
    expect(m.topology.distance(0, 4)).toBe(31);
  });

  it('accepts 16 KiB and 64 KiB pages on arm64 only', () => {
    expect(resolveConfig({ arch: 'arm64', pageSize: 16384 }).pageSize).toBe(16384);
    expect(resolveConfig({ arch: 'arm64', pageSize: 65536, nodes: [{ memoryBytes: GiB, cpus: 1 }] }).pageSize).toBe(
      65536,
    );
    expect(() => resolveConfig({ arch: 'x86_64', pageSize: 16384 })).toThrow(/pageSize/);
  });

  it('uses 512 MiB sections for arm64 with 64 KiB pages', () => {
    const bad = () =>
      resolveConfig({ arch: 'arm64', pageSize: 65536, nodes: [{ memoryBytes: 128 * 2 ** 20, cpus: 1 }] });
    expect(bad).toThrow(/512 MiB memory section/);
  });

  it.each([
    ['zero CPUs', { nodes: [{ memoryBytes: GiB, cpus: 0 }] }, 'nodes'],
    ['negative CPUs', { nodes: [{ memoryBytes: GiB, cpus: -1 }] }, 'nodes[0].cpus'],
    ['memory not a section multiple', { nodes: [{ memoryBytes: GiB + 4096, cpus: 1 }] }, 'nodes[0].memoryBytes'],
    ['no memory', { nodes: [{ memoryBytes: 0, cpus: 1 }] }, 'nodes'],
    ['unknown arch', { arch: 'vax' as never }, 'arch'],
    ['unknown preset', { preset: 'huge' as never }, 'preset'],
    [
      'asymmetric distances',
      {
        nodes: [
          { memoryBytes: GiB, cpus: 1 },
          { memoryBytes: GiB, cpus: 1 },
        ],
        distances: [
          [10, 20],
          [30, 10],
        ],
      },
      'distances[0][1]',
    ],
    [
      'non-positive distance',
      {
        nodes: [
          { memoryBytes: GiB, cpus: 1 },
          { memoryBytes: GiB, cpus: 1 },
        ],
        distances: [
          [10, 0],
          [0, 10],
        ],
      },
      'distances[0][1]',
    ],
    ['local distance not 10', { distances: [[12]] }, 'distances[0][0]'],
    ['wrong matrix size', { distances: [[10, 20]] }, 'distances[0]'],
    ['negative cost', { costs: { ipi: -1 } }, 'costs.ipi'],
    ['tlb entries not a multiple of ways', { tlb: { entries4k: 10, ways4k: 4 } }, 'tlb.entries4k'],
  ])('rejects %s with a ConfigError naming %s', (_name, cfg, field) => {
    let err: unknown;
    try {
      resolveConfig(cfg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(MmError.isInstance(err)).toBe(true);
    expect((err as ConfigError).field).toBe(field);
    expect((err as ConfigError).code).toBe('EINVAL');
    expect((err as ConfigError).message).toMatch(/^machine: /);
  });

  it('overrides costs and keeps the rest of the table', () => {
    const c = resolveConfig({ costs: { ipi: 3000 } });
    expect(c.costs.ipi).toBe(3000);
    expect(c.costs.tlbHit).toBe(resolveConfig().costs.tlbHit);
  });

  it('presets are valid', () => {
    for (const name of Object.keys(PRESETS) as (keyof typeof PRESETS)[]) {
      expect(() => resolveConfig({ preset: name })).not.toThrow();
    }
  });
});

describe('bad configuration (issue 9 item 4)', () => {
  const fieldOf = (config: unknown): string => {
    try {
      resolveConfig(config as MachineConfig);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).field;
    }
    throw new Error('accepted');
  };

  it('refuses preset names inherited from Object.prototype, naming the preset', () => {
    for (const preset of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', '', 'SMALL']) {
      expect(fieldOf({ preset })).toBe('preset');
    }
    expect(fieldOf({ preset: 3 })).toBe('preset');
    expect(() => createMachine({ preset: 'toString' as PresetName })).toThrow(/unknown preset "toString"/);
  });

  it('names every bad field: unknown keys, wrong types, out-of-range tunables', () => {
    expect(fieldOf(null)).toBe('config');
    expect(fieldOf([])).toBe('config');
    expect(fieldOf({ seeed: 1 })).toBe('seeed');
    expect(fieldOf({ costs: { ipii: 3 } })).toBe('costs.ipii');
    expect(fieldOf({ costs: 5 })).toBe('costs');
    expect(fieldOf({ tlb: { entries: 3 } })).toBe('tlb.entries');
    expect(fieldOf({ mem: { minFreeKByte: 3 } })).toBe('mem.minFreeKByte');
    expect(fieldOf({ mem: { watermarkBoostFactor: -1 } })).toBe('mem.watermarkBoostFactor');
    expect(fieldOf({ mem: { percpuPagelistHighFraction: 3 } })).toBe('mem.percpuPagelistHighFraction');
    expect(fieldOf({ mem: { pcpCacheSliceBytes: Number.NaN } })).toBe('mem.pcpCacheSliceBytes');
    expect(fieldOf({ mem: { movablecorePercent: '5' } })).toBe('mem.movablecorePercent');
    expect(fieldOf({ preemptRt: 'yes' })).toBe('preemptRt');
  });

  it('gives every accepted seed its own stream: 1 and 2^32+1 differ (no 32-bit truncation)', () => {
    const draw = (seed: number) => {
      const p = createMachine({ seed }).prng.stream('t');
      return [p.nextU32(), p.nextU32(), p.nextU32()];
    };
    expect(draw(4294967297)).not.toEqual(draw(1));
    expect(draw(2 ** 53 - 1)).not.toEqual(draw(2 ** 32 - 1));
    expect(createMachine({ seed: 4294967297 }).prng.seed).toBe(4294967297);
    // Seeds below 2^32 keep their streams (the determinism digests stand).
    expect(draw(7)).toEqual(draw(7));
  });

  it('refuses negative, fractional, unsafe and non-number seeds with a ConfigError naming the seed', () => {
    for (const seed of [-1, -4294967295, 1.5, Number.NaN, Infinity, 2 ** 53, 2 ** 60, '1', 1n]) {
      expect(fieldOf({ seed })).toBe('seed');
    }
    expect(() => resolveConfig({ seed: 2 ** 60 })).toThrow(/above 2\^53/);
    expect(() => resolveConfig({ seed: -1 })).toThrow(/0\.\.2\^53-1/);
  });
});
