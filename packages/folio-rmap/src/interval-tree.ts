/**
 * DOC: interval trees: red-black trees of [start, last] ranges augmented with
 * the largest `last` of each subtree (`rb_subtree_last`), as
 * `include/linux/interval_tree_generic.h` defines them over `lib/rbtree.c`.
 *
 * Nodes live in typed arrays (one per field) of a pool shared by every tree
 * of one kind, indexed by an integer handle, as the kernel embeds an
 * `rb_node` in each `anon_vma_chain` and `vm_area_struct`; a tree is just a
 * root and a cached leftmost node ({@link RbRootCached}). Handle 0 is the
 * black sentinel NIL. Keys are doubles (page offsets up to 2^53).
 *
 * Insertion goes right on equal starts, so an in-order walk (and a query)
 * visits nodes by start and, among equal starts, in insertion order, like
 * the kernel's. Queries return every node whose [start, last] overlaps the
 * query range, in that order: `iterFirst` / `iterNext` are the kernel's
 * `_iter_first` / `_iter_next`, pruning subtrees whose `subtreeLast` is
 * below the query start.
 */
import { MmBugError } from '@mm/machine';

/** The sentinel handle: no node. */
export const RB_NIL = 0;
const RED = 0;
const BLACK = 1;

/**
 * A tree: its root and leftmost node (handles, RB_NIL when empty).
 * @kernel struct rb_root_cached (include/linux/rbtree_types.h)
 */
export class RbRootCached {
  /** Root node handle. @kernel rb_root_cached.rb_root */
  node: number;
  /** Leftmost node handle. @kernel rb_root_cached.rb_leftmost */
  leftmost: number;
  constructor() {
    this.node = RB_NIL;
    this.leftmost = RB_NIL;
  }
}

/** A pool of interval-tree nodes carrying payloads of type `T`. */
export class IntervalTreePool<T> {
  /** @internal */
  left: Int32Array;
  /** @internal */
  right: Int32Array;
  /** @internal */
  parent: Int32Array;
  /** @internal */
  color: Uint8Array;
  /** First key of each node's interval, by handle. */
  start: Float64Array;
  /** Last key (inclusive) of each node's interval, by handle. */
  last: Float64Array;
  /** Largest `last` in each node's subtree, by handle, for pruning stabbing queries; mirrors `rb_subtree_last`. */
  sub: Float64Array;
  /** The object each node is embedded in. */
  readonly owner: (T | undefined)[];
  /** Free handles. */
  private readonly freeList: number[];
  /** Handles ever used (the next never-used handle). */
  private top: number;
  /** Nodes allocated. */
  nrNodes: number;

  constructor(capacity = 64) {
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
    this.color = new Uint8Array(capacity);
    this.start = new Float64Array(capacity);
    this.last = new Float64Array(capacity);
    this.sub = new Float64Array(capacity);
    this.owner = [undefined];
    this.freeList = [];
    this.top = 1;
    this.nrNodes = 0;
    this.color[RB_NIL] = BLACK;
    this.sub[RB_NIL] = Number.NEGATIVE_INFINITY;
  }

  private grow(): void {
    const n = this.left.length * 2;
    const g32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const g64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.left = g32(this.left);
    this.right = g32(this.right);
    this.parent = g32(this.parent);
    const c = new Uint8Array(n);
    c.set(this.color);
    this.color = c;
    this.start = g64(this.start);
    this.last = g64(this.last);
    this.sub = g64(this.sub);
  }

  /** A new unlinked node for `owner` with key [start, last]. */
  alloc(owner: T, start: number, last: number): number {
    let h = this.freeList.pop();
    if (h === undefined) {
      if (this.top >= this.left.length) this.grow();
      h = this.top++;
      this.owner.push(owner);
    } else {
      this.owner[h] = owner;
    }
    this.left[h] = RB_NIL;
    this.right[h] = RB_NIL;
    this.parent[h] = RB_NIL;
    this.color[h] = RED;
    this.start[h] = start;
    this.last[h] = last;
    this.sub[h] = last;
    this.nrNodes++;
    return h;
  }

  /** Return an unlinked node to the pool. */
  free(h: number): void {
    this.owner[h] = undefined;
    this.freeList.push(h);
    this.nrNodes--;
  }

  /** Change the key of an unlinked node. */
  setKey(h: number, start: number, last: number): void {
    this.start[h] = start;
    this.last[h] = last;
    this.sub[h] = last;
  }

  private compute(h: number): number {
    let m = this.last[h] as number;
    const l = this.sub[this.left[h] as number] as number;
    const r = this.sub[this.right[h] as number] as number;
    if (l > m) m = l;
    if (r > m) m = r;
    return m;
  }

  private rotateLeft(root: RbRootCached, x: number): void {
    const left = this.left;
    const right = this.right;
    const parent = this.parent;
    const y = right[x] as number;
    const yl = left[y] as number;
    right[x] = yl;
    if (yl !== RB_NIL) parent[yl] = x;
    const p = parent[x] as number;
    parent[y] = p;
    if (p === RB_NIL) root.node = y;
    else if (x === left[p]) left[p] = y;
    else right[p] = y;
    left[y] = x;
    parent[x] = y;
    // augment_rotate: the new subtree root takes the old one's maximum.
    this.sub[y] = this.sub[x] as number;
    this.sub[x] = this.compute(x);
  }

  private rotateRight(root: RbRootCached, x: number): void {
    const left = this.left;
    const right = this.right;
    const parent = this.parent;
    const y = left[x] as number;
    const yr = right[y] as number;
    left[x] = yr;
    if (yr !== RB_NIL) parent[yr] = x;
    const p = parent[x] as number;
    parent[y] = p;
    if (p === RB_NIL) root.node = y;
    else if (x === right[p]) right[p] = y;
    else left[p] = y;
    right[y] = x;
    parent[x] = y;
    this.sub[y] = this.sub[x] as number;
    this.sub[x] = this.compute(x);
  }

  private insertFixup(root: RbRootCached, z: number): void {
    const parent = this.parent;
    const color = this.color;
    while (color[parent[z] as number] === RED) {
      const p = parent[z] as number;
      const g = parent[p] as number;
      if (p === this.left[g]) {
        const y = this.right[g] as number;
        if (color[y] === RED) {
          color[p] = BLACK;
          color[y] = BLACK;
          color[g] = RED;
          z = g;
        } else {
          if (z === this.right[p]) {
            z = p;
            this.rotateLeft(root, z);
          }
          const pp = parent[z] as number;
          color[pp] = BLACK;
          color[parent[pp] as number] = RED;
          this.rotateRight(root, parent[pp] as number);
        }
      } else {
        const y = this.left[g] as number;
        if (color[y] === RED) {
          color[p] = BLACK;
          color[y] = BLACK;
          color[g] = RED;
          z = g;
        } else {
          if (z === this.left[p]) {
            z = p;
            this.rotateRight(root, z);
          }
          const pp = parent[z] as number;
          color[pp] = BLACK;
          color[parent[pp] as number] = RED;
          this.rotateLeft(root, parent[pp] as number);
        }
      }
    }
    color[root.node] = BLACK;
  }

  /**
   * Insert node `h` (allocated, unlinked) by its start.
   * @kernel INTERVAL_TREE_DEFINE _insert (include/linux/interval_tree_generic.h)
   */
  insert(root: RbRootCached, h: number): void {
    const start = this.start[h] as number;
    const last = this.last[h] as number;
    const sub = this.sub;
    let p = RB_NIL;
    let x = root.node;
    let goLeft = false;
    let leftmost = true;
    while (x !== RB_NIL) {
      p = x;
      if ((sub[x] as number) < last) sub[x] = last;
      if (start < (this.start[x] as number)) {
        goLeft = true;
        x = this.left[x] as number;
      } else {
        goLeft = false;
        leftmost = false;
        x = this.right[x] as number;
      }
    }
    sub[h] = last;
    this.left[h] = RB_NIL;
    this.right[h] = RB_NIL;
    this.parent[h] = p;
    this.color[h] = RED;
    if (p === RB_NIL) root.node = h;
    else if (goLeft) this.left[p] = h;
    else this.right[p] = h;
    if (leftmost) root.leftmost = h;
    this.insertFixup(root, h);
  }

  /**
   * Insert `h` right after `prev` in order; both must have the same start
   * (fork copies a file VMA next to its parent's).
   * @kernel vma_interval_tree_insert_after (mm/interval_tree.c)
   */
  insertAfter(root: RbRootCached, h: number, prev: number): void {
    if (this.start[h] !== this.start[prev]) {
      throw new MmBugError(`interval_tree: insert_after with start ${this.start[h]} != ${this.start[prev]}`);
    }
    const last = this.last[h] as number;
    const sub = this.sub;
    let p: number;
    let goLeft: boolean;
    if (this.right[prev] === RB_NIL) {
      p = prev;
      goLeft = false;
    } else {
      p = this.right[prev] as number;
      if ((sub[p] as number) < last) sub[p] = last;
      while (this.left[p] !== RB_NIL) {
        p = this.left[p] as number;
        if ((sub[p] as number) < last) sub[p] = last;
      }
      goLeft = true;
    }
    sub[h] = last;
    this.left[h] = RB_NIL;
    this.right[h] = RB_NIL;
    this.parent[h] = p;
    this.color[h] = RED;
    if (goLeft) this.left[p] = h;
    else this.right[p] = h;
    this.insertFixup(root, h);
  }

  private minimum(x: number): number {
    while (this.left[x] !== RB_NIL) x = this.left[x] as number;
    return x;
  }

  /** In-order successor, RB_NIL at the end. @kernel rb_next (lib/rbtree.c) */
  next(x: number): number {
    if (this.right[x] !== RB_NIL) return this.minimum(this.right[x] as number);
    let p = this.parent[x] as number;
    while (p !== RB_NIL && x === this.right[p]) {
      x = p;
      p = this.parent[p] as number;
    }
    return p;
  }

  private transplant(root: RbRootCached, u: number, v: number): void {
    const p = this.parent[u] as number;
    if (p === RB_NIL) root.node = v;
    else if (u === this.left[p]) this.left[p] = v;
    else this.right[p] = v;
    this.parent[v] = p;
  }

  /**
   * Unlink node `h` (it stays allocated).
   * @kernel INTERVAL_TREE_DEFINE _remove (include/linux/interval_tree_generic.h)
   */
  remove(root: RbRootCached, z: number): void {
    if (root.leftmost === z) root.leftmost = this.next(z);
    const left = this.left;
    const right = this.right;
    const parent = this.parent;
    const color = this.color;
    let y = z;
    let yColor = color[y] as number;
    let x: number;
    if (left[z] === RB_NIL) {
      x = right[z] as number;
      this.transplant(root, z, x);
    } else if (right[z] === RB_NIL) {
      x = left[z] as number;
      this.transplant(root, z, x);
    } else {
      y = this.minimum(right[z] as number);
      yColor = color[y] as number;
      x = right[y] as number;
      if (parent[y] === z) {
        parent[x] = y;
      } else {
        this.transplant(root, y, x);
        right[y] = right[z] as number;
        parent[right[y] as number] = y;
      }
      this.transplant(root, z, y);
      left[y] = left[z] as number;
      parent[left[y] as number] = y;
      color[y] = color[z] as number;
    }
    // Propagate: every node from x's parent to the root may have lost z's
    // `last` (or moved), so recompute their subtree maxima.
    for (let n = parent[x] as number; n !== RB_NIL; n = parent[n] as number) this.sub[n] = this.compute(n);
    if (yColor === BLACK) this.deleteFixup(root, x);
    left[z] = RB_NIL;
    right[z] = RB_NIL;
    parent[z] = RB_NIL;
    parent[RB_NIL] = RB_NIL;
    this.sub[RB_NIL] = Number.NEGATIVE_INFINITY;
  }

  private deleteFixup(root: RbRootCached, x: number): void {
    const parent = this.parent;
    const color = this.color;
    while (x !== root.node && color[x] === BLACK) {
      const p = parent[x] as number;
      if (x === this.left[p]) {
        let w = this.right[p] as number;
        if (color[w] === RED) {
          color[w] = BLACK;
          color[p] = RED;
          this.rotateLeft(root, p);
          w = this.right[parent[x] as number] as number;
        }
        if (color[this.left[w] as number] === BLACK && color[this.right[w] as number] === BLACK) {
          color[w] = RED;
          x = parent[x] as number;
        } else {
          if (color[this.right[w] as number] === BLACK) {
            color[this.left[w] as number] = BLACK;
            color[w] = RED;
            this.rotateRight(root, w);
            w = this.right[parent[x] as number] as number;
          }
          const px = parent[x] as number;
          color[w] = color[px] as number;
          color[px] = BLACK;
          color[this.right[w] as number] = BLACK;
          this.rotateLeft(root, px);
          x = root.node;
        }
      } else {
        let w = this.left[p] as number;
        if (color[w] === RED) {
          color[w] = BLACK;
          color[p] = RED;
          this.rotateRight(root, p);
          w = this.left[parent[x] as number] as number;
        }
        if (color[this.right[w] as number] === BLACK && color[this.left[w] as number] === BLACK) {
          color[w] = RED;
          x = parent[x] as number;
        } else {
          if (color[this.left[w] as number] === BLACK) {
            color[this.right[w] as number] = BLACK;
            color[w] = RED;
            this.rotateLeft(root, w);
            w = this.left[parent[x] as number] as number;
          }
          const px = parent[x] as number;
          color[w] = color[px] as number;
          color[px] = BLACK;
          color[this.left[w] as number] = BLACK;
          this.rotateRight(root, px);
          x = root.node;
        }
      }
    }
    color[x] = BLACK;
  }

  /** Leftmost node of the subtree at `node` overlapping [start, last], or RB_NIL. */
  private subtreeSearch(node: number, start: number, last: number): number {
    const left = this.left;
    const sub = this.sub;
    for (;;) {
      const l = left[node] as number;
      if (l !== RB_NIL && start <= (sub[l] as number)) {
        node = l;
        continue;
      }
      if ((this.start[node] as number) <= last) {
        if (start <= (this.last[node] as number)) return node;
        node = this.right[node] as number;
        if (node === RB_NIL) return RB_NIL;
        continue;
      }
      return RB_NIL;
    }
  }

  /**
   * First node overlapping [start, last], or RB_NIL.
   * @kernel INTERVAL_TREE_DEFINE _iter_first (include/linux/interval_tree_generic.h)
   */
  iterFirst(root: RbRootCached, start: number, last: number): number {
    const node = root.node;
    if (node === RB_NIL) return RB_NIL;
    if ((this.sub[node] as number) < start) return RB_NIL;
    if ((this.start[root.leftmost] as number) > last) return RB_NIL;
    return this.subtreeSearch(node, start, last);
  }

  /**
   * Next node after `node` overlapping [start, last], or RB_NIL.
   * @kernel INTERVAL_TREE_DEFINE _iter_next (include/linux/interval_tree_generic.h)
   */
  iterNext(node: number, start: number, last: number): number {
    let rb = this.right[node] as number;
    for (;;) {
      if (rb !== RB_NIL && start <= (this.sub[rb] as number)) return this.subtreeSearch(rb, start, last);
      let prev: number;
      do {
        rb = this.parent[node] as number;
        if (rb === RB_NIL) return RB_NIL;
        prev = node;
        node = rb;
        rb = this.right[node] as number;
      } while (prev === rb);
      if (last < (this.start[node] as number)) return RB_NIL;
      if (start <= (this.last[node] as number)) return node;
    }
  }

  /** All nodes of a tree in order (tests, validation). */
  inOrder(root: RbRootCached): number[] {
    const out: number[] = [];
    if (root.node === RB_NIL) return out;
    for (let x = this.minimum(root.node); x !== RB_NIL; x = this.next(x)) out.push(x);
    return out;
  }

  /**
   * Check the tree: parent links, order by start, no red node with a red
   * child, equal black heights, every `subtreeLast`, the cached leftmost.
   * Returns the number of nodes.
   * @throws MmBugError naming the broken invariant.
   */
  validate(root: RbRootCached): number {
    const fail = (msg: string): never => {
      throw new MmBugError(`interval_tree: ${msg}`);
    };
    if (root.node === RB_NIL) {
      if (root.leftmost !== RB_NIL) fail('empty tree with a leftmost node');
      return 0;
    }
    if (this.parent[root.node] !== RB_NIL) fail('root has a parent');
    if (this.color[root.node] !== BLACK) fail('red root');
    let count = 0;
    let prevStart = Number.NEGATIVE_INFINITY;
    const walk = (x: number): number => {
      if (x === RB_NIL) return 1;
      count++;
      const l = this.left[x] as number;
      const r = this.right[x] as number;
      if (l !== RB_NIL && this.parent[l] !== x) fail(`node ${x}: left child's parent is ${this.parent[l]}`);
      if (r !== RB_NIL && this.parent[r] !== x) fail(`node ${x}: right child's parent is ${this.parent[r]}`);
      if (this.color[x] === RED && (this.color[l] === RED || this.color[r] === RED))
        fail(`red node ${x} has a red child`);
      const bl = walk(l);
      if ((this.start[x] as number) < prevStart) fail(`node ${x} out of order`);
      prevStart = this.start[x] as number;
      const br = walk(r);
      if (bl !== br) fail(`node ${x}: black heights ${bl} and ${br}`);
      if (this.sub[x] !== this.compute(x)) fail(`node ${x}: subtree_last ${this.sub[x]} != ${this.compute(x)}`);
      return bl + (this.color[x] === BLACK ? 1 : 0);
    };
    walk(root.node);
    if (root.leftmost !== this.minimum(root.node)) fail(`leftmost ${root.leftmost} is not the minimum`);
    return count;
  }
}
