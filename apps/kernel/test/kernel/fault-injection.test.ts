/**
 * Fault injection in the composed kernel: after a random prefix of steps
 * (the oracle's), fork with failslab's fail-nth at every slab allocation it
 * makes (mm_struct, task_struct, vm_area_struct, maple nodes, anon_vma,
 * anon_vma_chain, files), and with fail_page_alloc at every page allocation
 * (page tables, pinned-page copies), and a store fault with fail_page_alloc
 * at each of its allocations. The error comes back (-ENOMEM, or a typed
 * ENOMEM fault), nothing leaks (validate() checks every folio, slab object
 * and page table; after exit no user folio is left), the parent's memory
 * reads as before, and the same step then succeeds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createKernel, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Task } from '../../src/index.js';
import { fuzzRuns } from '../fuzz.js';
import { type Op, World } from './oracle.js';

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.nat(1000),
  a: fc.nat(1000),
  b: fc.nat(100000),
  c: fc.nat(100000),
});

function world(arch: 'x86_64' | 'arm64', seed: number, prefix: readonly Op[]): World {
  const w = new World(createKernel({ arch, seed, thp: 'always', mthp: { 16: 'always' } }));
  for (const op of prefix) w.step(op);
  return w;
}

function failPages(w: World, nth: number): void {
  w.k.machine.mem.failPageAlloc.configure({
    probability: 100,
    interval: nth,
    times: 1,
    minOrder: 0,
    ignoreGfpReclaim: false,
    ignoreGfpHighmem: false,
  });
  w.k.machine.mem.failPageAlloc.count = 0;
  w.k.machine.mem.failPageAlloc.nrFailed = 0;
}

function stopFailPages(w: World): number {
  const f = w.k.machine.mem.failPageAlloc;
  const n = f.nrFailed;
  f.configure({ probability: 0 });
  return n;
}

describe.each(['x86_64', 'arm64'] as const)('fault injection (%s)', (arch) => {
  it('fork under failslab at every allocation: -ENOMEM, nothing leaked, the parent unchanged', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.nat(100), (prefix, seed) => {
        for (let n = 1; n < 200; n++) {
          const w = world(arch, seed, prefix);
          const t = w.tasks[0]!;
          const fs = w.k.caches.slab.failslab;
          fs.configure({ ignoreGfpReclaim: false, failNth: n });
          const c = t.fork();
          const fired = fs.nrFailed > 0;
          fs.configure({ ignoreGfpReclaim: true, failNth: 0 });
          if (!fired) {
            expect(c).toBeInstanceOf(Task);
            break;
          }
          if (c instanceof Task)
            c.exit(0); // the failure was absorbed (a retry path)
          else expect(c).toBe(-12);
          w.k.validate();
          w.checkAll();
          w.finish();
          w.k.validate();
          expect(w.k.userFolios.size).toBe(0);
        }
      }),
      { numRuns: fuzzRuns(6) },
    );
  });

  it('fork and store faults under fail_page_alloc at every page allocation', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.nat(100), (prefix, seed) => {
        for (let n = 1; n < 100; n++) {
          const w = world(arch, seed, prefix);
          const t = w.tasks[0]!;
          failPages(w, n);
          const c = t.fork();
          const fired = stopFailPages(w) > 0;
          if (!fired) break;
          if (c instanceof Task) c.exit(0);
          else expect(c).toBe(-12);
          w.k.validate();
          w.checkAll();
        }
        for (let n = 1; n < 10; n++) {
          const w = world(arch, seed, prefix);
          const t = w.tasks[0]!;
          const a = t.mmap(0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
          failPages(w, n);
          const r = t.write(a + 20 * 4096, 5);
          const fired = stopFailPages(w) > 0;
          if (!fired) {
            expect(r).toBe(0);
            break;
          }
          if (r !== 0) {
            expect(r).toBe(-14);
            expect(t.lastFault?.signal).toBe('ENOMEM');
          }
          w.k.validate();
          expect(t.write(a + 20 * 4096, 5)).toBe(0);
          expect(t.read(a + 20 * 4096)).toBe(5);
          w.k.validate();
        }
      }),
      { numRuns: fuzzRuns(4) },
    );
  });
});

describe('determinism', () => {
  it('the same seed and steps give the same /proc text, byte for byte', async () => {
    const { procPidSmaps, procVmstat, procMeminfo } = await import('../../src/index.js');
    const ops = fc.sample(opArb, { numRuns: 150, seed: 9 });
    const run = () => {
      const w = world('x86_64', 3, ops);
      let out = '';
      for (const t of w.tasks) out += procPidSmaps(w.k, t.mm!);
      return out + procVmstat(w.k) + procMeminfo(w.k) + w.log.join('\n');
    };
    expect(run()).toBe(run());
  });
});
