/**
 * DOC: memory figures: host bytes of memmap per touched 4 KiB page after
 * touching 4 GiB of simulated memory (target: at most 64, the kernel's
 * struct page), and creating the large preset (8 nodes, 256 CPUs, 1 TiB)
 * plus validate() (target: under 1 s and under 100 MB before any page is
 * allocated).
 */
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import { createMachine, GFP_HIGHUSER_MOVABLE } from '../src/index.js';

const suite = new BenchSuite('@mm/machine: memmap and scale');
const GiB = 1024 ** 3;
const gc = (globalThis as { gc?: () => void }).gc;

function hostBytes(): number {
  gc?.();
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

{
  const m = createMachine({ nodes: [{ memoryBytes: 8 * GiB, cpus: 4 }] });
  const pa = m.mem;
  const before = hostBytes();
  const pages = (4 * GiB) / 4096;
  for (let i = 0; i < pages; i++) {
    if (pa.allocPages(GFP_HIGHUSER_MOVABLE, 0) < 0) throw new Error('bench: allocation failed');
  }
  const after = hostBytes();
  suite.record({
    name: 'memmap host bytes per touched 4 KiB page (4 GiB touched)',
    value: (after - before) / pages,
    unit: 'B/page',
    reference: 'struct page = 64 B (target <= 64)',
    ratio: (after - before) / pages / 64,
  });
  suite.record({
    name: 'memmap bytes per page in a section (layout)',
    value: pa.memmap.hostBytes() / (pa.memmap.nrMaterialized * pa.memmap.pagesPerSection),
    unit: 'B/page',
  });
}

{
  const before = hostBytes();
  const t0 = performance.now();
  const m = createMachine({ preset: 'large' });
  m.validate();
  const ms = performance.now() - t0;
  const bytes = hostBytes() - before;
  suite.record({
    name: 'large preset (1 TiB, 256 CPUs) create + validate',
    value: ms,
    unit: 'ms',
    reference: 'target < 1000 ms',
    ratio: ms / 1000,
  });
  suite.record({
    name: 'large preset host memory before any allocation',
    value: bytes / 2 ** 20,
    unit: 'MiB',
    reference: 'target < 100 MB',
    ratio: bytes / 100e6,
  });
  if (m.mem.memmap.nrMaterialized !== 0) throw new Error('bench: large preset materialized memmap');
}
suite.finish();
