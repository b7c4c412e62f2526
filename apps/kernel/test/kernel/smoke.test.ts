import { describe, expect, it } from 'vitest';
import {
  createKernel,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MREMAP_MAYMOVE,
  PROT_READ,
  PROT_WRITE,
  Task,
} from '../../src/index.js';

describe('composed kernel smoke', () => {
  for (const arch of ['x86_64', 'arm64'] as const) {
    it(`faults, forks, CoWs and exits on ${arch}`, () => {
      const k = createKernel({ arch, seed: 1 });
      const p = k.spawn({ name: 'a' }) as Task;
      const a = p.mmap(0, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      expect(a).toBeGreaterThan(0);
      expect(p.read(a)).toBe(0);
      expect(p.write(a, 7)).toBe(0);
      expect(p.read(a)).toBe(7);
      expect(p.write(a + 4096, 8)).toBe(0);
      const c = p.fork() as Task;
      expect(c).toBeInstanceOf(Task);
      expect(c.read(a)).toBe(7);
      expect(c.write(a, 9)).toBe(0);
      expect(c.read(a)).toBe(9);
      expect(p.read(a)).toBe(7);
      expect(p.write(a + 4096, 10)).toBe(0);
      expect(c.read(a + 4096)).toBe(8);
      const b = p.mremap(a, 16 * 4096, 64 * 4096, MREMAP_MAYMOVE);
      expect(b).toBeGreaterThan(0);
      expect(p.read(b)).toBe(7);
      expect(p.read(b + 4096)).toBe(10);
      expect(p.read(a)).toBe(-14);
      expect(p.lastFault?.signal).toBe('SIGSEGV');
      c.exit(0);
      expect(p.wait()).toEqual({ pid: c.pid, code: 0 });
      p.exit(0);
      expect(k.machine.warnings).toEqual([]);
    });
  }
});
