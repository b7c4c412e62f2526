/**
 * DOC: introspection: the invariant checker (`mt_validate`), the text dump
 * (`mt_dump`), node statistics and a plain-JSON picture of the tree for the
 * web page.
 */

import { badArg, checkFunction } from './check.js';
import { MapleTreeError } from './errors.js';
import {
  MAPLE_GAP_STRIDE as GS,
  MapleNodeStore,
  maple_arange_64,
  maple_leaf_64,
  maple_range_64,
  mtMinSlots,
  mtSlots,
  MAPLE_NODE_STRIDE as S,
} from './node-store.js';
import { checkTreeObject, MAPLE_MAX, type Mtree, treeHeight, treeIsAlloc } from './tree.js';

/** What {@link mtValidate} counted. */
export interface MtValidateReport {
  /** Levels of nodes. */
  height: number;
  /** Nodes in the tree. */
  nodes: number;
  /** Leaf nodes in the tree. */
  leaves: number;
  /** Ranges holding an entry (empty ranges not counted). */
  entries: number;
  /** Non-root nodes at or below their minimum occupancy (allowed, counted). */
  insufficient: number;
  /** Nodes per depth (root depth 0). */
  nodesPerDepth: number[];
}

function fail(msg: string): never {
  throw new MapleTreeError('EUCLEAN', `maple_tree: mt_validate: ${msg}`);
}

/**
 * Check every invariant of the tree: node types by level, pivots strictly
 * increasing inside the node's bounds, data end within the node, parent links
 * and parent slots, no dead node reachable, no two adjacent empty ranges and
 * no non-rightmost leaf ending empty, internal nodes fully populated, the gap
 * of every child recorded in its parent and the parent's largest-gap offset,
 * the height, and (unless `occupancy: false`) that every non-root node is
 * above its minimum occupancy. Throws `MapleTreeError` (`EUCLEAN`) on the first violation.
 * @kernel mt_validate (lib/maple_tree.c)
 */
export function mtValidate(mt: Mtree, opts: { occupancy?: boolean } = {}): MtValidateReport {
  checkTreeObject('mtValidate', mt);
  const strict = opts.occupancy ?? true;
  const height = treeHeight(mt);
  const report: MtValidateReport = {
    height,
    nodes: 0,
    leaves: 0,
    entries: 0,
    insufficient: 0,
    nodesPerDepth: [],
  };
  if (mt.root === 0) {
    if (height !== 0) fail(`empty root but height ${height}`);
    if (mt.rootEntry !== undefined) report.entries = 1;
    return report;
  }
  if (mt.rootEntry !== undefined) fail('node root and a direct root entry at once');
  if (height < 1) fail('node root with height 0');
  const st = mt.store;
  const alloc = treeIsAlloc(mt);
  const itype = alloc ? maple_arange_64 : maple_range_64;
  let prevLeafEndsEmpty = false;
  let prevLeafMax = -1;
  const visit = (n: number, depth: number, min: number, max: number, parent: number, pslot: number): number => {
    report.nodes++;
    report.nodesPerDepth[depth] = (report.nodesPerDepth[depth] ?? 0) + 1;
    const type = st.type[n]!;
    const leaf = depth === height - 1;
    if (st.dead[n] === 1) fail(`node ${n} is dead but reachable`);
    if (leaf ? type !== maple_leaf_64 : type !== itype) fail(`node ${n} at depth ${depth} has type ${type}`);
    if ((type === maple_arange_64) !== (st.gapIdx[n] !== 0))
      fail(`node ${n} of type ${type} has gap record ${st.gapIdx[n]} (only maple_arange_64 nodes have one)`);
    if (st.parent[n] !== parent) fail(`node ${n} parent ${st.parent[n]} != ${parent}`);
    if (parent !== 0 && st.parentSlot[n] !== pslot) fail(`node ${n} parent slot ${st.parentSlot[n]} != ${pslot}`);
    const e = st.pivots[n * S + 15]!;
    if (e >= mtSlots[type]!) fail(`node ${n} end ${e} beyond ${mtSlots[type]! - 1}`);
    if (parent !== 0 && e + 1 <= mtMinSlots[type]!) {
      report.insufficient++;
      if (strict) fail(`node ${n} has ${e + 1} slots in use, at or below the minimum ${mtMinSlots[type]}`);
    }
    if (parent === 0 && !leaf && e < 1) fail(`internal root ${n} has one child`);
    const b = n * S;
    if (e < 15 && st.pivots[b + e] !== max)
      fail(`node ${n} pivot[end] = ${st.pivots[b + e]} is not the node max ${max}`);
    let lo = min;
    for (let i = 0; i < e; i++) {
      const p = st.pivots[b + i]!;
      if (!(p >= lo) || !(p < max)) fail(`node ${n} pivot ${i} = ${p} outside [${lo}, ${max})`);
      lo = p + 1;
    }
    if (leaf) {
      report.leaves++;
      if (min !== prevLeafMax + 1) fail(`leaf ${n} starts at ${min}, previous leaf ended at ${prevLeafMax}`);
      let g = 0;
      let lo2 = min;
      for (let i = 0; i <= e; i++) {
        const hi = i < e ? st.pivots[b + i]! : max;
        const v = st.slots[b + i];
        if (v === undefined) {
          if (i === 0 ? prevLeafEndsEmpty : st.slots[b + i - 1] === undefined)
            fail(`leaf ${n} has adjacent empty ranges at slot ${i}`);
          if (hi - lo2 + 1 > g) g = hi - lo2 + 1;
        } else report.entries++;
        lo2 = hi + 1;
      }
      const endsEmpty = st.slots[b + e] === undefined;
      if (endsEmpty && max !== MAPLE_MAX) fail(`leaf ${n} ends with an empty range below MAPLE_MAX`);
      prevLeafEndsEmpty = endsEmpty;
      prevLeafMax = max;
      return g;
    }
    let g = 0;
    let lo3 = min;
    let maxOff = 0;
    for (let i = 0; i <= e; i++) {
      const hi = i < e ? st.pivots[b + i]! : max;
      const c = st.slots[b + i] as number;
      if (c === 0) fail(`internal node ${n} has no child in slot ${i}`);
      const cg = visit(c, depth + 1, lo3, hi, n, i);
      if (alloc) {
        if (st.gaps[st.gapIdx[n]! * GS + i] !== cg)
          fail(`node ${n} gap[${i}] = ${st.gaps[st.gapIdx[n]! * GS + i]} but the child's largest gap is ${cg}`);
        if (cg > g) {
          g = cg;
          maxOff = i;
        }
      }
      lo3 = hi + 1;
    }
    if (alloc && st.gaps[st.gapIdx[n]! * GS + st.gapOffset[n]!] !== st.gaps[st.gapIdx[n]! * GS + maxOff])
      fail(`node ${n} meta gap offset is wrong`);
    return g;
  };
  visit(mt.root, 0, 0, MAPLE_MAX, 0, 0);
  if (prevLeafMax !== MAPLE_MAX) fail('the last leaf does not end at MAPLE_MAX');
  return report;
}

/** One node of {@link mtToJSON}. */
export interface MapleNodeJSON {
  /** The node handle in the node store. */
  id: number;
  /** The node type (`enum maple_type`). */
  type: 'maple_leaf_64' | 'maple_range_64' | 'maple_arange_64';
  /** The lowest index the node covers. */
  min: number;
  /** The highest index the node covers. */
  max: number;
  /** The upper bound of each slot in use. */
  pivots: number[];
  /** `maple_arange_64`: the largest gap below each slot. */
  gaps?: number[];
  /** Leaves: the entries (`null` for empty ranges). */
  entries?: unknown[];
  /** Internal nodes: the child node of each slot in use. */
  children?: MapleNodeJSON[];
}

/** The tree as plain JSON. */
export interface MapleTreeJSON {
  /** `ma_flags` without the height. */
  flags: number;
  /** The tree height ({@link mtHeight}). */
  height: number;
  /** A direct root entry (index 0), if any. */
  rootEntry?: unknown;
  /** The root node, or null for an empty tree or a direct root entry. */
  root: MapleNodeJSON | null;
}

const TYPE_NAMES = ['maple_free', 'maple_leaf_64', 'maple_range_64', 'maple_arange_64'] as const;

/** The tree as plain JSON (entries passed through `mapEntry`). */
export function mtToJSON(mt: Mtree, mapEntry: (e: unknown) => unknown = (e) => e): MapleTreeJSON {
  checkTreeObject('mtToJSON', mt);
  checkFunction('mtToJSON', 'mapEntry', mapEntry);
  const st = mt.store;
  const height = treeHeight(mt);
  const node = (n: number, depth: number, min: number, max: number): MapleNodeJSON => {
    const b = n * S;
    const e = st.pivots[n * S + 15]!;
    const pivots: number[] = [];
    for (let i = 0; i <= e; i++) pivots.push(i < e ? st.pivots[b + i]! : max);
    const type = TYPE_NAMES[st.type[n]!] as MapleNodeJSON['type'];
    const out: MapleNodeJSON = { id: n, type, min, max, pivots };
    if (depth === height - 1) {
      const entries: unknown[] = [];
      for (let i = 0; i <= e; i++) {
        const v = st.slots[b + i];
        entries.push(v === undefined ? null : mapEntry(v));
      }
      out.entries = entries;
    } else {
      if (st.type[n] === maple_arange_64) {
        const gaps: number[] = [];
        for (let i = 0; i <= e; i++) gaps.push(st.gaps[st.gapIdx[n]! * GS + i]!);
        out.gaps = gaps;
      }
      const children: MapleNodeJSON[] = [];
      let lo = min;
      for (let i = 0; i <= e; i++) {
        children.push(node(st.slots[b + i] as number, depth + 1, lo, pivots[i]!));
        lo = pivots[i]! + 1;
      }
      out.children = children;
    }
    return out;
  };
  const json: MapleTreeJSON = { flags: mt.flags, height, root: mt.root === 0 ? null : node(mt.root, 0, 0, MAPLE_MAX) };
  if (mt.rootEntry !== undefined) json.rootEntry = mapEntry(mt.rootEntry);
  return json;
}

/** How {@link mtDump} prints indices: `hex` or `dec`; mirrors `enum mt_dump_format`. */
export type MtDumpFormat = 'hex' | 'dec';

/**
 * The tree as text in the layout of the kernel's `mt_dump()`: one line per
 * node and per range, indented by depth.
 * @kernel mt_dump (lib/maple_tree.c)
 */
export function mtDump(mt: Mtree, format: MtDumpFormat = 'hex', showEntry: (e: unknown) => string = String): string {
  checkTreeObject('mtDump', mt);
  if (format !== 'hex' && format !== 'dec') badArg('mtDump', 'format', format, "'hex' or 'dec'");
  checkFunction('mtDump', 'showEntry', showEntry);
  const out: string[] = [];
  const num = (v: number) => (format === 'hex' ? v.toString(16) : String(v));
  const range = (min: number, max: number, depth: number) =>
    `${'  '.repeat(depth)}${min === max ? num(min) : `${num(min)}-${num(max)}`}: `;
  const height = treeHeight(mt);
  out.push(`maple_tree flags ${mt.flags.toString(16).toUpperCase()}, height ${height} root ${mt.root}`);
  const st = mt.store;
  const node = (n: number, depth: number, min: number, max: number) => {
    const b = n * S;
    const e = st.pivots[n * S + 15]!;
    const type = st.type[n]!;
    let line = `${range(min, max, depth)}node ${n} depth ${depth} type ${type} parent ${st.parent[n]}`;
    if (type === maple_arange_64) {
      const gaps: string[] = [];
      for (let i = 0; i <= e; i++) gaps.push(num(st.gaps[st.gapIdx[n]! * GS + i]!));
      line += ` contents: ${gaps.join(' ')} | ${e} ${st.gapOffset[n]}|`;
    }
    out.push(line);
    let lo = min;
    for (let i = 0; i <= e; i++) {
      const hi = i < e ? st.pivots[b + i]! : max;
      if (depth === height - 1) {
        const v = st.slots[b + i];
        out.push(`${range(lo, hi, depth + 1)}${v === undefined ? '(nil)' : showEntry(v)}`);
      } else node(st.slots[b + i] as number, depth + 1, lo, hi);
      lo = hi + 1;
    }
  };
  if (mt.root !== 0) node(mt.root, 0, 0, MAPLE_MAX);
  else if (mt.rootEntry !== undefined) out.push(`${range(0, 0, 0)}${showEntry(mt.rootEntry)}`);
  else out.push('(empty)');
  return `${out.join('\n')}\n`;
}

/** Node counts and bytes of a tree. */
export interface MtStats {
  /** The tree height ({@link mtHeight}). */
  height: number;
  /** Nodes in the tree, leaves included. */
  nodes: number;
  /** Leaf nodes. */
  leaves: number;
  /** Non-empty ranges (entries) stored. */
  entries: number;
  /** Bytes of node memory the tree's nodes take in the typed-array store. */
  nodeBytes: number;
}

/** Node statistics of the tree. */
export function mtStats(mt: Mtree): MtStats {
  const r = mtValidate(mt);
  return {
    height: r.height,
    nodes: r.nodes,
    leaves: r.leaves,
    entries: r.entries,
    nodeBytes: r.nodes * MapleNodeStore.bytesPerNode(),
  };
}
