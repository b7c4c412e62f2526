// Entry encodings per architecture: the typed view round-trips through the
// raw bits for every kind of entry (fast-check), the documented semantics of
// the pte_mk* helpers hold, and the geometry of every descriptor matches the
// kernel's constants.
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ARCH_DESCRIPTORS,
  type ArchDescriptor,
  archDescriptor,
  EntryCodec,
  geometrySummary,
  LEAF_KIND,
  LEAF_KIND_NAMES,
  MAX_SWAPFILES,
  nrTableLevels,
  PTE_MARKER_GUARD,
  PTE_MARKER_POISONED,
  PTE_MARKER_UFFD_WP,
  PteVal,
  PteView,
  SWAP_TYPES,
  SwapTypes,
  VM_EXEC,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from '../src/index.js';
import { fuzzRuns } from './fuzz.js';

const RUNS = fuzzRuns(300);
const DESCS = Object.values(ARCH_DESCRIPTORS);

/** A random view of a kind the descriptor can encode. */
function viewArb(d: ArchDescriptor): fc.Arbitrary<PteView> {
  const codec = new EntryCodec(d);
  const maxPfn = 2 ** Math.min(d.physBits - d.pageShift, 31) - 1;
  const offBits = Math.min(codec.codec.features.swpOffsetBits, 48);
  const kinds = [
    LEAF_KIND.PRESENT,
    LEAF_KIND.SWAP,
    LEAF_KIND.MIGRATION_READ,
    LEAF_KIND.MIGRATION_READ_EXCLUSIVE,
    LEAF_KIND.MIGRATION_WRITE,
    LEAF_KIND.DEVICE_PRIVATE_READ,
    LEAF_KIND.DEVICE_PRIVATE_WRITE,
    LEAF_KIND.DEVICE_EXCLUSIVE,
    LEAF_KIND.HWPOISON,
    LEAF_KIND.MARKER,
  ];
  return fc
    .record({
      kind: fc.constantFrom(...kinds),
      pfn: fc.integer({ min: 0, max: maxPfn }),
      write: fc.boolean(),
      young: fc.boolean(),
      dirty: fc.boolean(),
      exec: fc.boolean(),
      special: fc.boolean(),
      protnone: fc.boolean(),
      softDirty: fc.boolean(),
      uffdWp: fc.boolean(),
      exclusive: fc.boolean(),
      swapType: fc.integer({ min: 0, max: MAX_SWAPFILES - 1 }),
      swapOffset: fc.integer({ min: 1, max: 2 ** offBits - 1 }),
      marker: fc.integer({ min: 1, max: 7 }),
    })
    .map((r) => {
      const v = new PteView();
      v.kind = r.kind;
      const f = codec.codec.features;
      if (r.kind === LEAF_KIND.PRESENT) {
        v.pfn = r.pfn;
        v.protnone = r.protnone;
        v.write = r.protnone ? false : r.write && !r.uffdWp;
        v.exec = r.protnone ? false : r.exec;
        v.young = r.young;
        v.dirty = r.dirty;
        v.special = r.special;
        v.softDirty = f.softDirty && (r.softDirty || r.dirty);
        v.uffdWp = f.uffdWp && r.uffdWp;
        v.user = !r.protnone;
      } else {
        v.exclusive = r.exclusive;
        v.softDirty = f.softDirty && r.softDirty;
        v.uffdWp = f.uffdWp && r.uffdWp;
        if (r.kind === LEAF_KIND.SWAP) {
          v.swapType = r.swapType;
          v.swapOffset = r.swapOffset;
        } else if (r.kind === LEAF_KIND.MARKER) v.marker = r.marker;
        else {
          v.pfn = r.pfn;
          if (r.kind >= LEAF_KIND.MIGRATION_READ && r.kind <= LEAF_KIND.MIGRATION_WRITE) {
            v.young = r.young;
            v.dirty = r.dirty;
          }
        }
      }
      return v;
    });
}

let currentDesc: ArchDescriptor | null = null;
function hasNx(_v: PteView): boolean {
  return currentDesc?.family !== 'x86';
}

function expectSame(got: PteView, want: PteView, raw: PteVal): void {
  const g = got.toJSON();
  const w = want.toJSON();
  const ctx = `${LEAF_KIND_NAMES[want.kind]} ${raw.toHex()}`;
  expect(g.kind, ctx).toBe(w.kind);
  for (const k of ['pfn', 'exclusive', 'softDirty', 'uffdWp'] as const) expect(g[k], `${ctx} ${k}`).toBe(w[k]);
  if (want.kind === LEAF_KIND.PRESENT) {
    for (const k of ['young', 'dirty', 'special', 'protnone'] as const) {
      expect(g[k], `${ctx} ${k}`).toBe(w[k]);
    }
    // Write and exec mean nothing on a PROT_NONE entry (x86 PAGE_NONE has no NX); 32-bit x86 has no NX.
    if (!want.protnone) {
      expect(g.write, `${ctx} write`).toBe(w.write);
      expect(g.exec, `${ctx} exec`).toBe(w.exec || !hasNx(want));
    }
  } else if (want.kind === LEAF_KIND.SWAP) {
    expect(g.swapType, ctx).toBe(w.swapType);
    expect(g.swapOffset, ctx).toBe(w.swapOffset);
  } else if (want.kind === LEAF_KIND.MARKER) {
    expect(g.marker, ctx).toBe(w.marker);
  }
}

describe.each(DESCS.map((d) => [d.name, d] as const))('%s encodings', (_name, d) => {
  const ec = new EntryCodec(d);
  const c = ec.codec;
  beforeEach(() => {
    currentDesc = d;
  });

  it('every entry kind round-trips through the raw bits (PTE)', () => {
    fc.assert(
      fc.property(viewArb(d), (view) => {
        const raw = ec.encodePte(new PteVal(), view);
        const back = ec.decodePte(raw, new PteView());
        const want = new PteView();
        Object.assign(want, view);
        if (
          view.kind >= LEAF_KIND.MIGRATION_READ &&
          view.kind <= LEAF_KIND.MIGRATION_WRITE &&
          !ec.swap.migrationAdSupported
        ) {
          want.young = false;
          want.dirty = false;
        }
        expectSame(back, want, raw);
        // A non-present entry is neither none nor present; a present one is not a swap PTE.
        expect(ec.swap.isSwapPte(raw)).toBe(view.kind !== LEAF_KIND.PRESENT);
      }),
      { numRuns: RUNS },
    );
  });

  it('present PMD leaves and PMD migration entries round-trip', () => {
    fc.assert(
      fc.property(viewArb(d), (view) => {
        if (view.kind !== LEAF_KIND.PRESENT && view.kind !== LEAF_KIND.MIGRATION_WRITE) return;
        // THP migration (ARCH_ENABLE_THP_MIGRATION) is 64-bit only: on 2-level x86 the exclusive bit is PSE.
        if (view.kind !== LEAF_KIND.PRESENT && d.family === 'x86') return;
        const pmdPages = 2 ** (d.levels[1].shift - d.pageShift);
        view.pfn -= view.pfn % pmdPages;
        const raw = ec.encodePmd(new PteVal(), view);
        const back = ec.decodePmd(raw, new PteView());
        expect(back.kind).toBe(view.kind);
        expect(back.pfn).toBe(view.pfn);
        if (view.kind === LEAF_KIND.PRESENT) {
          expect(c.pmdLeaf(raw)).toBe(true);
          expect(back.write).toBe(view.write);
          expect(back.dirty).toBe(view.dirty);
        } else {
          expect(c.pmdPresent(raw)).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('pte_mkuffd_wp always removes write; pte_wrprotect keeps dirtiness; mkclean/mkold clear', () => {
    fc.assert(
      fc.property(viewArb(d), (view) => {
        if (view.kind !== LEAF_KIND.PRESENT || view.protnone) return;
        const v = ec.encodePte(new PteVal(), view);
        const w = v.clone();
        c.pteMkwrite(w);
        expect(c.pteWrite(w)).toBe(true);
        c.pteMkuffdWp(w);
        expect(c.pteWrite(w)).toBe(!c.features.uffdWp);
        expect(c.pteUffdWp(w)).toBe(c.features.uffdWp);
        const dirty = c.pteDirty(v);
        const x = v.clone();
        c.pteWrprotect(x);
        expect(c.pteWrite(x)).toBe(false);
        expect(c.pteDirty(x)).toBe(dirty);
        expect(c.ptePfn(x)).toBe(view.pfn);
        c.pteMkclean(x);
        expect(c.pteDirty(x)).toBe(false);
        c.pteMkold(x);
        expect(c.pteYoung(x)).toBe(false);
        c.pteMkdirty(x);
        expect(c.pteDirty(x)).toBe(true);
        expect(c.pteWrite(x)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('pte_modify changes protections and keeps PFN, young, dirty and soft bits', () => {
    fc.assert(
      fc.property(viewArb(d), fc.integer({ min: 0, max: 15 }), (view, flags) => {
        if (view.kind !== LEAF_KIND.PRESENT) return;
        // riscv maps a private VM_WRITE alone to PAGE_SHADOWSTACK (write-only), as Linux 7.2 does.
        if (d.family === 'riscv64' && (flags & 0xf) === VM_WRITE) return;
        const v = ec.encodePte(new PteVal(), view);
        const prot = new PteVal();
        c.vmGetPageProt(prot, flags);
        const before = ec.decodePte(v, new PteView());
        c.pteModify(v, prot);
        const after = ec.decodePte(v, new PteView());
        expect(after.kind).toBe(LEAF_KIND.PRESENT);
        expect(after.pfn).toBe(view.pfn);
        // riscv's PAGE_* include _PAGE_ACCESSED and its pte_modify() ors the new protection in.
        if (d.family === 'riscv64' && (flags & 7) !== 0) expect(after.young).toBe(true);
        else expect(after.young).toBe(before.young);
        expect(after.dirty).toBe(before.dirty);
        expect(after.special).toBe(before.special);
        expect(after.uffdWp).toBe(before.uffdWp);
        expect(after.softDirty).toBe(before.softDirty);
        const none = (flags & 7) === 0;
        expect(after.protnone).toBe(none);
        if (!none) {
          expect(after.write).toBe((flags & VM_SHARED) !== 0 && (flags & VM_WRITE) !== 0);
          expect(after.exec).toBe((flags & VM_EXEC) !== 0 || d.family === 'x86');
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('swap PTE flags are independent of the swap entry', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: 2 ** Math.min(c.features.swpOffsetBits, 48) - 1 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (type, offset, ex, sd, uw) => {
          const v = new PteVal();
          c.archSwpEntry(v, type, offset);
          expect(c.archSwpType(v)).toBe(type);
          expect(c.archSwpOffset(v)).toBe(offset);
          expect(c.ptePresent(v)).toBe(false);
          if (ex) c.pteSwpMkexclusive(v);
          if (sd) c.pteSwpMksoftDirty(v);
          if (uw) c.pteSwpMkuffdWp(v);
          expect(c.pteSwpExclusive(v)).toBe(ex);
          expect(c.pteSwpSoftDirty(v)).toBe(sd && c.features.softDirty);
          expect(c.pteSwpUffdWp(v)).toBe(uw && c.features.uffdWp);
          expect(c.ptePresent(v)).toBe(false);
          if (type !== 0 || offset !== 0) expect(c.pteNone(v)).toBe(false);
          const flagless = v.clone();
          c.pteSwpClearFlags(flagless);
          expect(c.archSwpType(flagless)).toBe(type);
          expect(c.archSwpOffset(flagless)).toBe(offset);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('table entries point to their table and are not leaves', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** Math.min(30, d.physBits - d.pageShift) - 1 }),
        fc.integer({ min: 1, max: 4 }),
        (pfn, level) => {
          const v = new PteVal();
          c.mkTableEntry(v, level as 1 | 2 | 3 | 4, pfn);
          expect(c.tableEntryPfn(v, level as 1)).toBe(pfn);
          expect(c.tableEntryOk(v, level as 1)).toBe(true);
          if (level === 1) {
            expect(c.pmdLeaf(v)).toBe(false);
            expect(c.pmdBad(v)).toBe(false);
            expect(c.pmdPresent(v)).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('geometry is consistent', () => {
    const g = geometrySummary(d);
    const L = d.levels;
    expect(L[0].shift).toBe(d.pageShift);
    let top = L[4].shift + Math.log2(L[4].ptrs);
    expect(top).toBe(d.vaBits);
    for (let l = 0; l < 4; l++) {
      const cur = L[l]!;
      if (!cur.folded) {
        let up = l + 1;
        while (L[up]!.folded) up++;
        expect(L[up]!.shift, `${d.name} level ${l}`).toBe(cur.shift + Math.log2(cur.ptrs));
      }
    }
    top = g.levels;
    expect(top).toBe(nrTableLevels(d));
  });
});

describe('geometry of the kernel configurations', () => {
  it.each([
    ['x86_64', 4, [12, 21, 30, 39, 39], [512, 512, 512, 1, 512]],
    ['x86_64-la57', 5, [12, 21, 30, 39, 48], [512, 512, 512, 512, 512]],
    ['x86', 2, [12, 22, 22, 22, 22], [1024, 1, 1, 1, 1024]],
    ['arm64-4k-39', 3, [12, 21, 30, 30, 30], [512, 512, 1, 1, 512]],
    ['arm64-4k-48', 4, [12, 21, 30, 39, 39], [512, 512, 512, 1, 512]],
    ['arm64-4k-52', 5, [12, 21, 30, 39, 48], [512, 512, 512, 512, 16]],
    ['arm64-16k-36', 2, [14, 25, 25, 25, 25], [2048, 1, 1, 1, 2048]],
    ['arm64-16k-47', 3, [14, 25, 36, 36, 36], [2048, 2048, 1, 1, 2048]],
    ['arm64-16k-48', 4, [14, 25, 36, 47, 47], [2048, 2048, 2048, 1, 2]],
    ['arm64-16k-52', 4, [14, 25, 36, 47, 47], [2048, 2048, 2048, 1, 32]],
    ['arm64-64k-42', 2, [16, 29, 29, 29, 29], [8192, 1, 1, 1, 8192]],
    ['arm64-64k-48', 3, [16, 29, 42, 42, 42], [8192, 8192, 1, 1, 64]],
    ['arm64-64k-52', 3, [16, 29, 42, 42, 42], [8192, 8192, 1, 1, 1024]],
    ['riscv64-sv39', 3, [12, 21, 30, 30, 30], [512, 512, 1, 1, 512]],
    ['riscv64-sv48', 4, [12, 21, 30, 39, 39], [512, 512, 512, 1, 512]],
    ['riscv64-sv57', 5, [12, 21, 30, 39, 48], [512, 512, 512, 512, 512]],
    ['ppc64-radix-4k', 4, [12, 21, 30, 39, 39], [512, 512, 512, 1, 8192]],
    ['ppc64-radix-64k', 4, [16, 21, 30, 39, 39], [32, 512, 512, 1, 8192]],
    ['ppc64-hash-4k', 4, [12, 21, 28, 37, 37], [512, 128, 512, 1, 512]],
    ['ppc64-hash-64k', 4, [16, 24, 34, 44, 44], [256, 1024, 1024, 1, 256]],
    ['sparc64', 4, [13, 23, 33, 43, 43], [1024, 1024, 1024, 1, 1024]],
  ] as const)('%s', (name, levels, shifts, ptrs) => {
    const d = archDescriptor(name);
    expect(nrTableLevels(d)).toBe(levels);
    expect(d.levels.map((l) => l.shift)).toEqual(shifts);
    expect(d.levels.map((l) => l.ptrs)).toEqual(ptrs);
  });

  it('arm64 contiguous hints per granule', () => {
    expect([archDescriptor('arm64-4k-48').contPtes, archDescriptor('arm64-4k-48').contPmds]).toEqual([16, 16]);
    expect([archDescriptor('arm64-16k-47').contPtes, archDescriptor('arm64-16k-47').contPmds]).toEqual([128, 32]);
    expect([archDescriptor('arm64-64k-48').contPtes, archDescriptor('arm64-64k-48').contPmds]).toEqual([32, 32]);
  });

  it('unknown names are typed errors', () => {
    expect(() => archDescriptor('vax')).toThrow(/unknown architecture 'vax'/);
  });
});

describe('swap types (include/linux/swap.h)', () => {
  it('reserves eight types at the top with everything on', () => {
    const t = SWAP_TYPES;
    expect(t.MAX_SWAPFILES).toBe(24);
    expect([t.SWP_HWPOISON, t.SWP_MIGRATION_READ, t.SWP_MIGRATION_READ_EXCLUSIVE, t.SWP_MIGRATION_WRITE]).toEqual([
      24, 25, 26, 27,
    ]);
    expect([t.SWP_DEVICE_WRITE, t.SWP_DEVICE_READ, t.SWP_DEVICE_EXCLUSIVE, t.SWP_PTE_MARKER]).toEqual([28, 29, 30, 31]);
  });
  it('gives the slots back when options are off', () => {
    const t = new SwapTypes({ devicePrivate: false, memoryFailure: false });
    expect(t.MAX_SWAPFILES).toBe(28);
    expect([t.SWP_MIGRATION_READ, t.SWP_PTE_MARKER, t.SWP_DEVICE_READ, t.SWP_HWPOISON]).toEqual([28, 31, -1, -1]);
  });
  it('markers decode with their bits', () => {
    const ec = new EntryCodec(archDescriptor('x86_64'));
    for (const m of [PTE_MARKER_UFFD_WP, PTE_MARKER_POISONED, PTE_MARKER_GUARD]) {
      const v = ec.swap.makePteMarker(new PteVal(), m);
      const view = ec.decodePte(v, new PteView());
      expect(view.kind).toBe(LEAF_KIND.MARKER);
      expect(view.marker).toBe(m);
    }
    expect(() => ec.swap.makePteMarker(new PteVal(), 8)).toThrow(/bad PTE marker/);
  });
});

describe('x86-64 specifics', () => {
  const ec = new EntryCodec(archDescriptor('x86_64'));
  const c = ec.codec;
  it('stores the swap offset inverted (L1TF)', () => {
    const v = new PteVal();
    c.archSwpEntry(v, 0, 0);
    // ~0 in bits 9..58, type 0.
    expect(v.toHex()).toBe('0x07fffffffffffe00');
  });
  it('PROT_NONE entries store their PFN inverted and pte_pfn undoes it', () => {
    const prot = new PteVal();
    c.vmGetPageProt(prot, 0);
    const v = new PteVal();
    c.pfnPte(v, 0x1234, prot);
    expect(c.pteProtnone(v)).toBe(true);
    expect(c.ptePfn(v)).toBe(0x1234);
    expect(((v.lo >>> 12) & 0xfffff) === 0x1234).toBe(false);
    // Back to a readable protection: the PFN is uninverted.
    c.vmGetPageProt(prot, VM_READ);
    c.pteModify(v, prot);
    expect(c.pteProtnone(v)).toBe(false);
    expect((v.lo >>> 12) & 0xfffff).toBe(0x1234);
  });
  it('write-protecting a dirty entry moves D to SAVED_DIRTY (no shadow-stack encoding)', () => {
    const prot = new PteVal();
    c.vmGetPageProt(prot, VM_READ | VM_WRITE | VM_SHARED);
    const v = new PteVal();
    c.pfnPte(v, 7, prot);
    c.pteMkdirty(v);
    expect(v.lo & 0x40).toBe(0x40);
    c.pteWrprotect(v);
    expect(v.lo & 0x40).toBe(0);
    expect(v.hi & (1 << 26)).not.toBe(0);
    expect(c.pteDirty(v)).toBe(true);
    c.pteMkwrite(v);
    expect(v.lo & 0x40).toBe(0x40);
    expect(v.hi & (1 << 26)).toBe(0);
  });
});

describe('x86 32-bit specifics', () => {
  it('pte_none ignores no bits (the KNL A/D erratum mask is 64-bit and PAE only)', () => {
    const ec = new EntryCodec(archDescriptor('x86'));
    const v = new PteVal();
    ec.codec.archSwpEntry(v, 16, 0);
    expect(v.lo).toBe(0x20);
    expect(ec.codec.pteNone(v)).toBe(false);
    const w = new PteVal();
    new EntryCodec(archDescriptor('x86_64')).codec.archSwpEntry(w, 0, 0);
    w.setWords(0x20, 0);
    expect(new EntryCodec(archDescriptor('x86_64')).codec.pteNone(w)).toBe(true);
  });
});
