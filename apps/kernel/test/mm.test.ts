import { createMachine, EEXIST, EINVAL } from '@mm/machine';
import { mtValidate } from '@mm/maple-tree';
import { slabValidate } from '@mm/slab-sheaves';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMaps, MMAP_MIN_ADDR, MmStruct, VM_READ, VM_WRITE } from '../src/mm.js';
import { createMmCaches, slabWorkload } from '../src/slab-caches.js';

const PAGE = 4096;
const RW = VM_READ | VM_WRITE;
const BASE = 0x7f0000000000;

function setup() {
  const machine = createMachine();
  const caches = createMmCaches(machine);
  const mm = new MmStruct(machine, caches, BASE);
  return { machine, caches, mm };
}

describe('MmStruct', () => {
  it('maps anonymous memory top-down below mmap_base', () => {
    const { mm } = setup();
    expect(mm.mmapAnon(4 * PAGE, VM_READ)).toBe(BASE - 4 * PAGE);
    // a different protection does not merge: the next one goes right below
    expect(mm.mmapAnon(2 * PAGE, RW)).toBe(BASE - 6 * PAGE);
    expect(mm.vmas().map((v) => [v.start, v.end])).toEqual([
      [BASE - 6 * PAGE, BASE - 4 * PAGE],
      [BASE - 4 * PAGE, BASE],
    ]);
  });

  it('merges a new mapping into the compatible VMA above it', () => {
    const { mm } = setup();
    mm.mmapAnon(4 * PAGE, RW);
    mm.mmapAnon(2 * PAGE, RW);
    expect(mm.vmas().map((v) => [v.start, v.end])).toEqual([[BASE - 6 * PAGE, BASE]]);
  });

  //  ....AAAA....BBBB|  mmap_base
  //  a 4-page hole between A and B takes a 4-page request (highest fit first)
  it('fills the highest hole that fits', () => {
    const { mm } = setup();
    expect(mm.insertVma(BASE - 4 * PAGE, BASE, RW, '[b]')).toBe(0);
    expect(mm.insertVma(BASE - 12 * PAGE, BASE - 8 * PAGE, RW, '[a]')).toBe(0);
    expect(mm.mmapAnon(4 * PAGE, VM_READ)).toBe(BASE - 8 * PAGE);
    expect(mm.mmapAnon(5 * PAGE, VM_READ)).toBe(BASE - 17 * PAGE);
  });

  it('refuses overlapping and misaligned VMAs and leaves the tree unchanged', () => {
    const { mm } = setup();
    expect(mm.insertVma(0x10000, 0x20000, RW)).toBe(0);
    expect(mm.insertVma(0x1f000, 0x30000, RW)).toBe(-EEXIST);
    expect(mm.insertVma(0x30001, 0x40000, RW)).toBe(-EINVAL);
    expect(mm.vmas()).toHaveLength(1);
    expect(mm.munmapVma(0x50000)).toBe(-EINVAL);
  });

  it('returns -ENOMEM when no hole fits above mmap_min_addr', () => {
    const { mm } = setup();
    expect(mm.getUnmappedArea(BASE)).toBeLessThan(0);
    expect(mm.getUnmappedArea(BASE - MMAP_MIN_ADDR)).toBe(MMAP_MIN_ADDR);
  });

  it('prints /proc/PID/maps lines with the name at column 74', () => {
    const { mm } = setup();
    mm.insertVma(0x555555554000, 0x555555556000, VM_READ, '/usr/bin/cat', 0, '08:01', 1574083);
    mm.insertVma(0x7ffff7f9b000, 0x7ffff7fa8000, RW);
    expect(formatMaps(mm)).toBe(
      '555555554000-555555556000 r--p 00000000 08:01 1574083                    /usr/bin/cat\n' +
        '7ffff7f9b000-7ffff7fa8000 rw-p 00000000 00:00 0 \n',
    );
  });

  it('random mmap/munmap keeps the tree valid, matches a page oracle and leaks no slab object', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 40 }), fc.nat()), { maxLength: 120 }),
        (ops) => {
          const { machine, caches, mm } = setup();
          const owned = new Map<number, number>(); // vma start -> end, tracked through merges
          for (const [map, pages, pick] of ops) {
            if (map || owned.size === 0) {
              const addr = mm.mmapAnon(pages * PAGE, RW);
              expect(addr).toBeGreaterThanOrEqual(MMAP_MIN_ADDR);
              const above = owned.get(addr + pages * PAGE);
              if (above !== undefined) owned.delete(addr + pages * PAGE);
              owned.set(addr, above ?? addr + pages * PAGE);
            } else {
              const starts = [...owned.keys()];
              const start = starts[pick % starts.length] as number;
              expect(mm.munmapVma(start)).toBe(0);
              owned.delete(start);
            }
            mtValidate(mm.mt);
          }
          const got = mm.vmas().map((v) => [v.start, v.end]);
          const want = [...owned.entries()].sort((a, b) => a[0] - b[0]);
          expect(got).toEqual(want);
          mm.destroy();
          expect(mm.nodes.inUse).toBe(0);
          slabValidate(caches.slab);
          machine.validate();
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('slabWorkload', () => {
  it('runs on a machine whose CPU count is not a multiple of 8', () => {
    const machine = createMachine({ nodes: [{ memoryBytes: 1024 * 1024 * 1024, cpus: 12 }] });
    const caches = createMmCaches(machine);
    const w = slabWorkload(machine, caches);
    expect(w.vmasAllocated).toBeGreaterThan(0);
    slabValidate(caches.slab);
  });
});
