/**
 * A tmpfs THP mapped with a PMD, seen by the file rmap walks and by
 * truncation (mm/rmap.c, mm/shmem.c): `folio_referenced` counts the PMD
 * mapping of each process once, `try_to_unmap` and `folio_mkclean` reach
 * the PMD mappings, and `ftruncate` unmaps the PMD everywhere (an access
 * beyond the new end is SIGBUS), with `validate()` after each step.
 */

import { describe, expect, it } from 'vitest';
import {
  createKernel,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  type Task,
} from '../../src/index.js';

const PAGE = 4096;
const PMD = 2 * 1024 * 1024;
const RW = PROT_READ | PROT_WRITE;

function alignedHole(p: Task): number {
  const raw = p.mmap(0, 2 * PMD, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  const a = Math.ceil(raw / PMD) * PMD;
  expect(p.munmap(raw, 2 * PMD)).toBe(0);
  return a;
}

for (const arch of ['x86_64', 'arm64'] as const) {
  describe(`tmpfs THP and the file rmap (${arch})`, () => {
    it('rmap walks and truncation reach the PMD mappings of two processes', () => {
      const k = createKernel({ arch, seed: 9, mapcount: 'page', tmpfsHuge: 'always' });
      const f = k.createFile('/tmp/huge', PMD);
      const ps = [k.spawn({ name: 'a' }) as Task, k.spawn({ name: 'b' }) as Task];
      const at = ps.map((p) => {
        const a = alignedHole(p);
        expect(p.mmap(a, PMD, RW, MAP_SHARED | MAP_FIXED, f, 0)).toBe(a);
        return a;
      });
      expect(ps[0]!.write(at[0]! + 5 * PAGE, 77)).toBe(0);
      expect(ps[1]!.read(at[1]! + 5 * PAGE)).toBe(77);
      k.validate();
      const folio = k.fileFolio(f, 0);
      expect(k.fileFolio(f, 5)).toBe(folio);
      expect(k.folioReferenced(folio)).toBe(2);
      k.validate();
      expect(k.folioMkclean(folio)).toBeGreaterThanOrEqual(1);
      k.validate();
      expect(ps[1]!.write(at[1]! + 6 * PAGE, 78)).toBe(0);
      expect(ps[0]!.read(at[0]! + 6 * PAGE)).toBe(78);
      k.validate();
      expect(k.tryToUnmap(folio)).toBe(0);
      k.validate();
      expect(ps[0]!.read(at[0]! + 5 * PAGE)).toBe(77);
      k.validate();
      expect(k.ftruncate(f, 4 * PAGE)).toBe(0);
      k.validate();
      expect(ps[0]!.read(at[0]! + 2 * PAGE)).toBe(0);
      expect(ps[1]!.read(at[1]! + 5 * PAGE)).toBeLessThan(0);
      k.validate();
      for (const p of ps) p.exit(0);
      k.validate();
    });
  });
}
