// /proc text views in the kernel's formats, the JSON state, and the
// validator catching corrupted state.
import { describe, expect, it } from 'vitest';
import {
  __GFP_COMP,
  createMachine,
  formatBuddyinfo,
  formatPagetypeinfo,
  formatVmstat,
  formatZoneinfo,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  MmBugError,
  memStateJson,
  validatePageAlloc,
} from '../src/index.js';
import { listId } from '../src/internal.js';

describe('/proc/buddyinfo', () => {
  it('prints populated zones with the kernel field widths', () => {
    const m = createMachine();
    expect(formatBuddyinfo(m.mem)).toBe(
      'Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0    256 \n',
    );
  });

  it('prints one line per populated zone of every node', () => {
    const m = createMachine({ preset: 'server2s' });
    const lines = formatBuddyinfo(m.mem).trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, 21))).toEqual([
      'Node 0, zone    DMA32',
      'Node 0, zone   Normal',
      'Node 1, zone   Normal',
    ]);
    expect(lines[1]?.trimEnd().endsWith(String((28 * 1024) / 4))).toBe(true);
  });

  it('reflects splits', () => {
    const m = createMachine();
    m.mem.allocPages(GFP_HIGHUSER_MOVABLE, 0);
    const counts = (formatBuddyinfo(m.mem).match(/ +\d+/g) ?? []).slice(1).map((x) => Number(x));
    expect(counts).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 255]);
  });
});

describe('/proc/pagetypeinfo', () => {
  it('prints the header, free counts per type and order, and block counts', () => {
    const m = createMachine();
    m.mem.allocPages(GFP_KERNEL, 0);
    const text = formatPagetypeinfo(m.mem);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Page block order: 9');
    expect(lines[1]).toBe('Pages per block:  512');
    expect(lines[3]).toBe(
      `${'Free pages count per migrate type at order'.padEnd(43)} ${[...Array(11).keys()].map((o) => String(o).padStart(6)).join(' ')} `,
    );
    expect(lines[4]).toBe(
      `Node    0, zone    DMA32, type    Unmovable ${[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0].map((n) => String(n).padStart(6)).join(' ')} `,
    );
    expect(lines[5]).toBe(
      `Node    0, zone    DMA32, type      Movable ${[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255].map((n) => String(n).padStart(6)).join(' ')} `,
    );
    expect(text).toContain('\nNumber of blocks type     Unmovable      Movable  Reclaimable   HighAtomic \n');
    expect(text).toContain('Node 0, zone    DMA32            2          510            0            0 \n');
  });
});

describe('/proc/zoneinfo', () => {
  it('prints watermarks, protection, stats and pagesets in the kernel layout', () => {
    const m = createMachine();
    const text = formatZoneinfo(m.mem);
    expect(text.startsWith('Node 0, zone    DMA32\n  per-node stats\n      nr_inactive_anon 0\n')).toBe(true);
    expect(text).toContain(
      '\n  pages free     262144\n        boost    0\n        min      1024\n        low      1286\n        high     1548\n',
    );
    expect(text).toContain(
      '\n        spanned  262144\n        present  262144\n        managed  262144\n        cma      0\n        protection: (0, 0, 0)',
    );
    expect(text).toContain('\n      nr_free_pages 262144\n');
    expect(text).toContain(
      '\n  pagesets\n    cpu: 0\n              count:    0\n              high:     0\n              batch:    63\n',
    );
    expect(text).toContain('\n  vm stats threshold: 30\n');
    expect(text).toContain('\n  start_pfn:           0\n  reserved_highatomic: 0\n  free_highatomic:     0\n');
    // Unpopulated zones stop after their protection line.
    expect(text).toContain('Node 0, zone   Normal\n  pages free     0\n');
    expect(text.endsWith('        protection: (0, 0, 0)\n')).toBe(true);
  });

  it('shows the lowmem reserve of DMA32 under a Normal zone', () => {
    const m = createMachine({ preset: 'server2s' });
    const dma32 = formatZoneinfo(m.mem).split('Node 0, zone   Normal')[0] as string;
    const normalPages = (28 * 1024 * 1024) / 4;
    expect(dma32).toContain(`protection: (0, ${Math.floor(normalPages / 256)}, ${Math.floor(normalPages / 256)})`);
  });
});

describe('/proc/vmstat and JSON', () => {
  it('counts allocations and frees', () => {
    const m = createMachine();
    const pfn = m.mem.allocPages(GFP_KERNEL, 2);
    m.mem.freePages(pfn, 2);
    const text = formatVmstat(m.mem);
    expect(text).toContain('\npgalloc_dma32 4\n');
    expect(text).toContain('\npgfree 4\n');
    expect(text).toContain('\nnuma_hit 1\n');
  });

  it('exports the whole state as plain JSON', () => {
    const m = createMachine();
    m.mem.allocPages(GFP_KERNEL | __GFP_COMP, 3);
    const state = memStateJson(m.mem);
    const round = JSON.parse(JSON.stringify(state)) as typeof state;
    expect(round.maxOrder).toBe(10);
    expect(round.zones[0]?.name).toBe('DMA32');
    expect(round.zones[0]?.freeArea[10]?.[1]).toBe(255);
    expect(round.zones[0]?.pageblocks).toEqual([2, 510, 0, 0]);
    expect(round.memmap.sectionsMaterialized).toBe(1);
    expect(round.vmEvents.pgalloc_dma32).toBe(8);
  });
});

describe('validate() catches corruption', () => {
  function touched() {
    const m = createMachine();
    const a = m.mem.allocPages(GFP_KERNEL, 0);
    const b = m.mem.allocPages(GFP_KERNEL | __GFP_COMP, 2);
    m.validate();
    return { m, a, b };
  }

  it('a broken free-list link', () => {
    const { m } = touched();
    const pa = m.mem;
    const head = pa.zones.freeHead[listId(pa, 0, 9, 0)] as number;
    pa.sec(head).prev[head & pa.memmap.sectionMask] = 12345;
    expect(() => m.validate()).toThrow(MmBugError);
  });

  it('a leaked page', () => {
    const { m, a } = touched();
    m.mem.sec(a).refcount[a & m.mem.memmap.sectionMask] = 0;
    expect(() => m.validate()).toThrow(/leaked/);
  });

  it('a tail pointing at the wrong head', () => {
    const { m, b } = touched();
    m.mem.sec(b).compoundHead[(b + 2) & m.mem.memmap.sectionMask] = b + 1;
    expect(() => m.validate()).toThrow(/points at/);
  });

  it('a wrong nr_free', () => {
    const { m } = touched();
    m.mem.zones.nrFree[3] = (m.mem.zones.nrFree[3] as number) + 1;
    expect(() => m.validate()).toThrow(/nr_free/);
  });

  it('a pageblock migratetype that disagrees with its free list', () => {
    const { m } = touched();
    const pa = m.mem;
    const head = pa.zones.freeHead[listId(pa, 0, 9, 0)] as number;
    pa.pageblock.set(head, 2);
    expect(() => m.validate()).toThrow(/pageblock/);
  });
});

describe('JSON.stringify(machine.mem)', () => {
  it('serializes through toJSON', () => {
    const m = createMachine();
    const parsed = JSON.parse(JSON.stringify(m.mem)) as { zones: { free: number }[] };
    expect(parsed.zones[0]?.free).toBe(262144);
  });
});

describe('validatePageAlloc options', () => {
  it('skips the memmap scan on request but still checks the lists', () => {
    const m = createMachine();
    const a = m.mem.allocPages(GFP_KERNEL, 0);
    m.mem.sec(a).refcount[a & m.mem.memmap.sectionMask] = 0; // leaked
    expect(() => validatePageAlloc(m.mem, { scanMemmap: false })).not.toThrow();
    expect(() => validatePageAlloc(m.mem)).toThrow(/leaked/);
    m.mem.zones.nrFree[0] = 99;
    expect(() => validatePageAlloc(m.mem, { scanMemmap: false })).toThrow(/nr_free/);
  });
});
