import { describe, expect, it } from 'vitest';
import {
  formatMasimConfig,
  MASIM_STAIRS_CFG,
  MASIM_ZIGZAG_CFG,
  MasimConfigError,
  MasimWorkload,
  parseMasimConfig,
  SyntheticAddressSpace,
} from '../src/index.js';

describe('masim config parser', () => {
  it('parses stairs.cfg as masim ships it', () => {
    const c = parseMasimConfig(MASIM_STAIRS_CFG, 'stairs.cfg');
    expect(c.regions.length).toBe(10);
    expect(c.regions[3]).toEqual({ name: 's3', sizeBytes: 10000000, initDataFile: null });
    expect(c.phases.map((p) => p.name)).toEqual([
      'initial phase',
      ...Array.from({ length: 10 }, (_, i) => `phase ${i}`),
    ]);
    expect(c.phases[0]!.timeMs).toBe(10000);
    expect(c.phases[0]!.patterns.length).toBe(10);
    expect(c.phases[4]!.patterns).toEqual([
      { region: 's3', randomAccess: false, strideBytes: 4096, probability: 50, rwMode: 'wo' },
    ]);
  });

  it('parses zigzag.cfg and round-trips through the formatter', () => {
    const c = parseMasimConfig(MASIM_ZIGZAG_CFG);
    expect(c.regions.map((r) => r.name)).toEqual(['a', 'b']);
    expect(c.phases.length).toBe(13);
    expect(parseMasimConfig(formatMasimConfig(c))).toEqual(c);
  });

  it('accepts init data files, rw modes and comments', () => {
    const c = parseMasimConfig(
      '# regions\nx, 8192, none\ny, 4096, data.bin\n\n# a phase\np\n100\nx, 1, 64, 3, ro\ny, 0, 64, 1, rw\n',
    );
    expect(c.regions[1]!.initDataFile).toBe('data.bin');
    expect(c.phases[0]!.patterns.map((p) => p.rwMode)).toEqual(['ro', 'rw']);
  });

  it.each([
    ['a, 100\n\np\n10\nb, 0, 64, 1\n', 5, "no region named 'b'"],
    ['a, 100\n\np\nten\na, 0, 64, 1\n', 4, 'phase duration must be an integer'],
    ['a, -5\n\np\n10\na, 0, 64, 1\n', 1, 'region size must be a positive integer'],
    ['a, 100\n\np\n10\na, 0, 64, 1, xx\n', 5, "wrong rw mode 'xx'"],
    ['a, 100\n\np\n10\na, 2, 64, 1\n', 5, 'random must be 1'],
    ['a, 100\n\np\n10\na, 0, 64\n', 5, 'a pattern needs'],
    ['a, 100\na, 200\n\np\n10\na, 0, 64, 1\n', 2, 'region name empty or repeated'],
    ['a, 100\n', 1, 'need a regions paragraph'],
  ])('reports the line of an error: %j', (text, line, msg) => {
    try {
      parseMasimConfig(text, 'bad.cfg');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(MasimConfigError);
      const err = e as MasimConfigError;
      expect(err.line).toBe(line);
      expect(err.code).toBe('EINVAL');
      expect(err.message).toContain(`masim: bad.cfg:${line}: ${msg}`);
    }
  });
});

describe('masim workload on a synthetic address space', () => {
  it('lays the regions out below the mmap base, with text, heap, libc and stack', () => {
    const space = new SyntheticAddressSpace();
    const w = new MasimWorkload(parseMasimConfig(MASIM_STAIRS_CFG), space);
    expect(space.vmas.length).toBe(14);
    expect(w.regions[0]!.start).toBeGreaterThan(w.regions[1]!.start);
    expect(space.validate()).toBeNull();
  });

  it('sequential 4 KiB strides touch every page of the hot region within a batch, phase by phase', () => {
    const space = new SyntheticAddressSpace();
    const w = new MasimWorkload(parseMasimConfig(MASIM_STAIRS_CFG), space);
    // At 12 s the run is in phase 0: only s0 is hot.
    space.advanceTo(12e9);
    for (const r of w.regions) {
      for (let a = r.start; a < r.start + r.sizeBytes; a += 1 << 20) space.mkold(a);
    }
    space.advanceTo(12.005e9);
    const young = (r: (typeof w.regions)[number]) => {
      let n = 0;
      for (let a = r.start; a < r.start + r.sizeBytes; a += 1 << 20) if (space.young(a)) n++;
      return n;
    };
    expect(young(w.regions[0]!)).toBe(10);
    for (const r of w.regions.slice(1)) expect(young(r)).toBe(0);
    expect(w.phaseLog.map((p) => p.name)).toEqual(['initial phase', 'phase 0']);
    // The run ends after 60 s and the process exits.
    space.advanceTo(61e9);
    expect(space.exited).toBe(true);
    expect(w.nrAccesses).toBeGreaterThan(5e9 / 10);
  });

  it('random patterns answer consistently and at the expected rate', () => {
    const space = new SyntheticAddressSpace();
    const w = new MasimWorkload(parseMasimConfig('r, 409600000\n\np\n1000\nr, 1, 4096, 1\n'), space);
    const r = w.regions[0]!;
    space.advanceTo(1e6); // less than a batch: about 1e6/10/4 Ki... accesses
    const pages = r.sizeBytes / 4096;
    let hits = 0;
    for (let p = 0; p < pages; p += 7) if (space.young(r.start + p * 4096)) hits++;
    const n = w.nrAccesses;
    const expected = (pages / 7) * -Math.expm1(n * Math.log1p(-1 / pages));
    expect(Math.abs(hits - expected)).toBeLessThan(4 * Math.sqrt(expected) + 5);
    // the same question gets the same answer
    const again = Array.from({ length: 50 }, (_, i) => space.young(r.start + i * 7 * 4096));
    expect(Array.from({ length: 50 }, (_, i) => space.young(r.start + i * 7 * 4096))).toEqual(again);
  });
});
