// The 32-bit word views of the memmap's 64-bit `index` and `private` fields:
// they alias the same bytes (no extra memory), and the allocator's zeroing of
// `private` at free clears both words.
import { describe, expect, it } from 'vitest';
import { __GFP_COMP, createMachine, GFP_KERNEL } from '../src/index.js';

describe('memmap word views', () => {
  it('alias index/private and are cleared with private at free', () => {
    const m = createMachine();
    const pfn = m.mem.allocPages(GFP_KERNEL | __GFP_COMP, 2, 0);
    expect(pfn).toBeGreaterThanOrEqual(0);
    const s = m.mem.memmap.sectionOf(pfn)!;
    const i = (pfn + 1) & m.mem.memmap.sectionMask;
    expect(s.indexWords.length).toBe(2 * m.mem.memmap.pagesPerSection);
    expect(s.indexWords.buffer).toBe(s.index.buffer);
    s.privateWords[2 * i] = -5;
    s.privateWords[2 * i + 1] = 0x7fffffff;
    s.indexWords[2 * i] = 3;
    expect(s.private[i]).not.toBe(0);
    expect(s.index[i]).not.toBe(0);
    s.index[i] = 0;
    expect(s.indexWords[2 * i]).toBe(0);
    m.mem.freePages(pfn, 2);
    expect(s.privateWords[2 * i]).toBe(0);
    expect(s.privateWords[2 * i + 1]).toBe(0);
    expect(() => m.validate()).not.toThrow();
  });
});
