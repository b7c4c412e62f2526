import { describe, expect, it } from 'vitest';
import { createTmpfsFile, FMODE_READ } from '../../src/mm/file.js';
import { madviseSetAnonName } from '../../src/mm/madvise.js';
import { ADDR_COMPAT_LAYOUT, MmStruct } from '../../src/mm/mm-types.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/mman.js';
import { sysBrk, sysMmap } from '../../src/mm/mmap.js';
import { archPickMmapLayout, setupExecLayout } from '../../src/mm/mmap-layout.js';
import { procPidMaps } from '../../src/mm/task-mmu.js';
import { vmaList } from '../../src/mm/vma.js';
import { checkMm, makeMm, PAGE } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;

describe('mmap layout', () => {
  it('x86-64 top-down: mmap_base below the stack limit, guard gap and stack randomisation', () => {
    const t = makeMm({ randomizeVaSpace: 2 });
    const { mm, ctx } = t;
    const top = 2 ** 47 - PAGE;
    // gap = 8 MiB + 1 MiB guard + 16 GiB stack randomisation; minus up to 2^28 pages of mmap randomisation
    const gap = 8 * 2 ** 20 + 2 ** 20 + 0x3fffff * PAGE;
    expect(mm.mmapBase).toBeLessThanOrEqual(top - gap);
    expect(mm.mmapBase).toBeGreaterThan(top - gap - 2 ** 28 * PAGE);
    expect(mm.topdown).toBe(true);
    expect(mm.mmapLegacyBase).toBeGreaterThanOrEqual(ctx.taskUnmappedBase);
  });

  it('clamps the gap to 128 MiB and 5/6 of the address space; ADDR_COMPAT_LAYOUT is bottom-up', () => {
    const t = makeMm();
    const { mm } = t;
    mm.rlim.stack.cur = Infinity;
    archPickMmapLayout(mm);
    expect(mm.mmapBase).toBe(Math.ceil((mm.taskSize - Math.floor(mm.taskSize / 6) * 5) / PAGE) * PAGE);
    expect(mm.topdown).toBe(true);
    mm.personality |= ADDR_COMPAT_LAYOUT;
    archPickMmapLayout(mm);
    expect(mm.topdown).toBe(false);
    expect(mm.mmapBase).toBe(Math.ceil(mm.taskSize / 3 / PAGE) * PAGE);
    // bottom-up: the lowest fit above mmap_base
    expect(sysMmap(mm, 0, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(mm.mmapBase);
  });

  it('arm64 treats an unlimited stack as the legacy layout', () => {
    const t = makeMm({ arch: 'arm64' });
    const { mm } = t;
    expect(mm.taskSize).toBe(2 ** 48);
    expect(mm.topdown).toBe(true);
    mm.rlim.stack.cur = Infinity;
    archPickMmapLayout(mm);
    expect(mm.topdown).toBe(false);
  });

  it('an exec layout: text, rodata, data, bss, heap, vDSO and stack, the same for a seed', () => {
    const build = (seed: number) => {
      const t = makeMm({ randomizeVaSpace: 2, seed });
      const exe = createTmpfsFile(t.ctx, '/usr/bin/prog', 1 << 20, FMODE_READ, { ino: 42, dev: [8, 1] });
      const mm = new MmStruct(t.ctx, 7);
      setupExecLayout(mm, { exe, heapBytes: 0x21000 });
      checkMm(t, [mm]);
      return procPidMaps(mm);
    };
    const a = build(1);
    expect(build(1)).toBe(a);
    expect(build(2)).not.toBe(a);
    const lines = a.split('\n').filter(Boolean);
    expect(lines.map((l) => l.slice(26, 30))).toEqual([
      'r-xp',
      'r--p',
      'rw-p',
      'rw-p',
      'rw-p',
      'r--p',
      'r--p',
      'r-xp',
      'rw-p',
    ]);
    expect(lines[0]).toMatch(/ 00000000 08:01 42 +\/usr\/bin\/prog$/);
    expect(lines[4]).toMatch(/ \[heap\]$/);
    expect(lines[5]).toMatch(/ \[vvar\]$/);
    expect(lines[6]).toMatch(/ \[vvar_vclock\]$/);
    expect(lines[7]).toMatch(/ \[vdso\]$/);
    expect(lines[8]).toMatch(/ \[stack\]$/);
  });

  it('without randomisation the program sits at ELF_ET_DYN_BASE and the stack at the top', () => {
    const t = makeMm();
    const exe = createTmpfsFile(t.ctx, '/bin/true', 1 << 20, FMODE_READ);
    const mm = new MmStruct(t.ctx, 3);
    const l = setupExecLayout(mm, { exe });
    expect(l.loadBias).toBe(0x555555554000);
    expect(l.stackTop).toBe(0x7ffffffff000);
    expect(procPidMaps(mm).split('\n').at(-2)).toBe(
      '7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]',
    );
    checkMm(t, [mm]);
  });
});

describe('/proc/PID/maps', () => {
  it('prints the kernel format: padding to column 73, names, s for MAYSHARE, offsets only for files', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const f = createTmpfsFile(ctx, '/usr/lib/libc.so.6', 1 << 22, FMODE_READ, { ino: 1582171, dev: [8, 1] });
    sysMmap(mm, 0x7ffff7d80000, 0x28000, PROT_READ, MAP_PRIVATE | MAP_FIXED, f, 0);
    sysMmap(mm, 0x7ffff7da8000, 0x195000, PROT_READ | 0x4, MAP_PRIVATE | MAP_FIXED, f, 0x28000);
    const anon = sysMmap(mm, 0x7ffff7f9b000, 0xd000, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    madviseSetAnonName(mm, anon, PAGE, 'arena');
    sysMmap(mm, 0x10000, PAGE, PROT_READ, MAP_SHARED, f, 0);
    mm.startBrk = 0x555555560000;
    mm.brk = mm.startBrk;
    sysBrk(mm, mm.startBrk + 2 * PAGE);
    const text = procPidMaps(mm);
    // seq_setwidth(72) then seq_pad(' '): the name starts at column 73 however long the head
    for (const l of text.split('\n')) if (/[/[]/.test(l)) expect(l.search(/ [/[]/)).toBe(72);
    expect(text).toBe(
      [
        '00010000-00011000 r--s 00000000 08:01 1582171                            /usr/lib/libc.so.6',
        '555555560000-555555562000 rw-p 00000000 00:00 0                          [heap]',
        '7ffff7d80000-7ffff7da8000 r--p 00000000 08:01 1582171                    /usr/lib/libc.so.6',
        '7ffff7da8000-7ffff7f3d000 r-xp 00028000 08:01 1582171                    /usr/lib/libc.so.6',
        '7ffff7f9b000-7ffff7f9c000 rw-p 00000000 00:00 0                          [anon:arena]',
        '7ffff7f9c000-7ffff7fa8000 rw-p 00000000 00:00 0 ',
        '',
      ].join('\n'),
    );
    expect(vmaList(mm)).toHaveLength(6);
    checkMm(t);
  });
});
