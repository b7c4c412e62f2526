/**
 * DOC: replay of the kernel's answers recorded by kernel-diff/kdiff.c: each
 * fixture line `name arg... => result...` names a kernel helper; this file
 * computes the same answer with the package's codecs and swap helpers.
 */
import {
  type ArchDescriptor,
  type ArchPte,
  archDescriptor,
  arm64Descriptor,
  LEAF_KIND,
  PteVal,
  Swapops,
  SwpEntry,
} from '../../src/index.js';

/** One configuration of the fixtures. */
export interface ReplayConfig {
  readonly fixture: string;
  readonly desc: ArchDescriptor;
}

export const CONFIGS: readonly ReplayConfig[] = [
  { fixture: 'x86_64.txt', desc: archDescriptor('x86_64') },
  { fixture: 'arm64-4k.txt', desc: arm64Descriptor({ pageSize: 4096, vaBits: 48 }) },
  { fixture: 'arm64-16k.txt', desc: arm64Descriptor({ pageSize: 16384, vaBits: 47 }) },
  { fixture: 'arm64-64k.txt', desc: arm64Descriptor({ pageSize: 65536, vaBits: 48 }) },
];

const hex = (n: number): string => n.toString(16);
const b = (x: boolean): string => (x ? '1' : '0');
const pv = (s: string): PteVal => new PteVal().fromBigInt(BigInt(`0x${s}`));
const num = (s: string): number => {
  const n = Number.parseInt(s, 16);
  if (!Number.isSafeInteger(n)) throw new Error(`fixture number ${s} is not a safe integer`);
  return n;
};
const hx = (v: PteVal): string => v.toBigInt().toString(16);

/** A replayer for one configuration. */
export class Replayer {
  readonly codec: ArchPte;
  readonly swap: Swapops;
  private readonly fns: Record<string, (a: string[]) => string>;

  constructor(desc: ArchDescriptor) {
    const c = desc.codec();
    const s = new Swapops(desc, c);
    this.codec = c;
    this.swap = s;
    const unary = (f: (v: PteVal) => void) => (a: string[]) => {
      const v = pv(a[0]!);
      f(v);
      return hx(v);
    };
    const pred = (f: (v: PteVal) => boolean) => (a: string[]) => b(f(pv(a[0]!)));
    const entry = (mk: (e: SwpEntry, pfn: number) => void) => (a: string[]) => {
      const e = new SwpEntry();
      mk(e, num(a[0]!));
      return hx(s.swpEntryToPte(e, new PteVal()));
    };
    const kernelKind = (kind: number): number => (kind <= LEAF_KIND.PRESENT ? 0 : kind - 1);
    const leaf = (v: PteVal): SwpEntry => {
      const e = new SwpEntry();
      if (c.pteNone(v) || c.ptePresent(v)) return e;
      return s.pteToSwpEntry(v, e);
    };
    this.fns = {
      const: (a) => {
        const t = s.types as unknown as Record<string, number>;
        if (a[0] === 'SWP_PFN_BITS') return hex(s.SWP_PFN_BITS);
        const val = t[a[0]!];
        if (val === undefined) throw new Error(`unknown constant ${a[0]}`);
        return hex(val);
      },
      vm_get_page_prot: (a) => {
        const out = new PteVal();
        c.vmGetPageProt(out, num(a[0]!));
        return hx(out);
      },
      pte_none: pred((v) => c.pteNone(v)),
      pte_present: pred((v) => c.ptePresent(v)),
      pte_protnone: pred((v) => c.pteProtnone(v)),
      pte_pfn: (a) => hex(c.ptePfn(pv(a[0]!))),
      pte_write: pred((v) => c.pteWrite(v)),
      pte_dirty: pred((v) => c.pteDirty(v)),
      pte_young: pred((v) => c.pteYoung(v)),
      pte_special: pred((v) => c.pteSpecial(v)),
      pte_uffd_wp: pred((v) => c.pteUffdWp(v)),
      pte_soft_dirty: pred((v) => c.pteSoftDirty(v)),
      pte_exec: pred((v) => c.pteExec(v)),
      pte_global: pred((v) => c.pteGlobal(v)),
      pte_cont: pred((v) => (c as unknown as { pteCont(v: PteVal): boolean }).pteCont(v)),
      pte_mkcont: unary((v) => (c as unknown as { pteMkcont(v: PteVal): void }).pteMkcont(v)),
      pte_mknoncont: unary((v) => (c as unknown as { pteMknoncont(v: PteVal): void }).pteMknoncont(v)),
      pte_mkwrite: unary((v) => c.pteMkwrite(v)),
      pte_wrprotect: unary((v) => c.pteWrprotect(v)),
      pte_mkdirty: unary((v) => c.pteMkdirty(v)),
      pte_mkclean: unary((v) => c.pteMkclean(v)),
      pte_mkyoung: unary((v) => c.pteMkyoung(v)),
      pte_mkold: unary((v) => c.pteMkold(v)),
      pte_mkspecial: unary((v) => c.pteMkspecial(v)),
      pte_mksoft_dirty: unary((v) => c.pteMksoftDirty(v)),
      pte_clear_soft_dirty: unary((v) => c.pteClearSoftDirty(v)),
      pte_mkuffd_wp: unary((v) => c.pteMkuffdWp(v)),
      pte_clear_uffd_wp: unary((v) => c.pteClearUffdWp(v)),
      pte_swp_exclusive: pred((v) => c.pteSwpExclusive(v)),
      pte_swp_soft_dirty: pred((v) => c.pteSwpSoftDirty(v)),
      pte_swp_uffd_wp: pred((v) => c.pteSwpUffdWp(v)),
      pte_swp_mkexclusive: unary((v) => c.pteSwpMkexclusive(v)),
      pte_swp_clear_exclusive: unary((v) => c.pteSwpClearExclusive(v)),
      pte_swp_mksoft_dirty: unary((v) => c.pteSwpMksoftDirty(v)),
      pte_swp_clear_soft_dirty: unary((v) => c.pteSwpClearSoftDirty(v)),
      pte_swp_mkuffd_wp: unary((v) => c.pteSwpMkuffdWp(v)),
      pte_swp_clear_uffd_wp: unary((v) => c.pteSwpClearUffdWp(v)),
      pte_swp_clear_flags: unary((v) => c.pteSwpClearFlags(v)),
      pte_pgprot: (a) => {
        const out = new PteVal();
        c.ptePgprot(out, pv(a[0]!));
        return hx(out);
      },
      pmd_none: pred((v) => c.pmdNone(v)),
      pmd_present: pred((v) => c.pmdPresent(v)),
      pmd_leaf: pred((v) => c.pmdLeaf(v)),
      pmd_bad: pred((v) => c.pmdBad(v)),
      pmd_pfn: (a) => hex(c.pmdPfn(pv(a[0]!))),
      pmd_protnone: pred((v) => c.pmdProtnone(v)),
      pmd_mkhuge: unary((v) => c.pmdMkhuge(v)),
      pud_none: pred((v) => c.pudNone(v)),
      pud_present: pred((v) => c.pudPresent(v)),
      pud_leaf: pred((v) => c.pudLeaf(v)),
      pud_pfn: (a) => hex(c.pudPfn(pv(a[0]!))),
      pte_modify: (a) => {
        const v = pv(a[0]!);
        c.pteModify(v, pv(a[1]!));
        return hx(v);
      },
      pmd_modify: (a) => {
        const v = pv(a[0]!);
        c.pmdModify(v, pv(a[1]!));
        return hx(v);
      },
      pfn_pte: (a) => {
        const out = new PteVal();
        c.pfnPte(out, num(a[0]!), pv(a[1]!));
        return hx(out);
      },
      pfn_pmd: (a) => {
        const out = new PteVal();
        c.pfnPmd(out, num(a[0]!), pv(a[1]!));
        return hx(out);
      },
      pfn_pud: (a) => {
        const out = new PteVal();
        c.pfnPud(out, num(a[0]!), pv(a[1]!));
        return hx(out);
      },
      pte_advance_pfn: (a) => {
        const v = pv(a[0]!);
        c.pteAdvancePfn(v, num(a[1]!));
        return hx(v);
      },
      swp_entry_to_pte: (a) => hx(s.swpEntryToPte(new SwpEntry(num(a[0]!), num(a[1]!)), new PteVal())),
      softleaf_from_pte: (a) => {
        const e = leaf(pv(a[0]!));
        return `${hex(e.type)} ${hex(e.offset)}`;
      },
      softleaf_type: (a) => hex(kernelKind(s.entryKind(leaf(pv(a[0]!))))),
      softleaf_to_pfn: (a) => hex(s.swpOffsetPfn(leaf(pv(a[0]!)))),
      softleaf_is_migration_young: (a) => b(s.isMigrationEntryYoung(leaf(pv(a[0]!)))),
      softleaf_is_migration_dirty: (a) => b(s.isMigrationEntryDirty(leaf(pv(a[0]!)))),
      softleaf_to_marker: (a) => hex(s.pteMarkerGet(leaf(pv(a[0]!)))),
      make_readable_migration_entry: entry((e, p) => s.makeReadableMigrationEntry(e, p)),
      make_readable_exclusive_migration_entry: entry((e, p) => s.makeReadableExclusiveMigrationEntry(e, p)),
      make_writable_migration_entry: entry((e, p) => s.makeWritableMigrationEntry(e, p)),
      make_migration_entry_young: entry((e, p) => s.makeMigrationEntryYoung(s.makeWritableMigrationEntry(e, p))),
      make_migration_entry_dirty: entry((e, p) => s.makeMigrationEntryDirty(s.makeReadableMigrationEntry(e, p))),
      make_readable_device_private_entry: entry((e, p) => s.makeReadableDevicePrivateEntry(e, p)),
      make_writable_device_private_entry: entry((e, p) => s.makeWritableDevicePrivateEntry(e, p)),
      make_device_exclusive_entry: entry((e, p) => s.makeDeviceExclusiveEntry(e, p)),
      make_hwpoison_entry: entry((e, p) => s.makeHwpoisonEntry(e, p)),
      make_pte_marker: (a) => hx(s.makePteMarker(new PteVal(), num(a[0]!))),
    };
  }

  /** The package's answer to a fixture line's question. */
  answer(name: string, args: string[]): string {
    const f = this.fns[name];
    if (f === undefined) throw new Error(`no replay for kernel function ${name}`);
    return f(args);
  }
}

/** Parse a fixture into `[name, args, kernel answer]` triples. */
export function parseFixture(text: string): [string, string[], string][] {
  const out: [string, string[], string][] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(' => ');
    const [name, ...args] = line.slice(0, i).split(' ');
    out.push([name!, args, line.slice(i + 4).trim()]);
  }
  return out;
}
