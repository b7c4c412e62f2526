/**
 * DOC: expected results taken from the kernel's own test suite
 * (lib/test_maple_tree.c: check_state_handling, check_empty_area_window),
 * replayed against this model step by step. The scenarios are rewritten as
 * tables; the numbers are the kernel's.
 */
import { describe, expect, it } from 'vitest';
import {
  EBUSY,
  EINVAL,
  MAPLE_MAX,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  ma_active,
  ma_none,
  ma_overflow,
  ma_root,
  ma_underflow,
  mtreeInit,
  mtreeStoreRange,
} from '../src/index.js';

type Step = [
  label: string,
  act: (mas: MaState) => unknown,
  entry: unknown,
  index: number | null,
  last: number | null,
  status: number,
];

function replay(mas: MaState, steps: Step[]): void {
  for (const [label, act, entry, index, last, status] of steps) {
    const got = act(mas);
    expect([label, got, mas.status]).toEqual([label, entry, status]);
    if (index !== null) expect([label, mas.index, mas.last]).toEqual([label, index, last]);
  }
}

/** Point the state at `i`, then act. */
const at = (i: number, f: (m: MaState) => unknown) => (m: MaState) => {
  m.set(i);
  return f(m);
};
/** Point the state at `i`, pause it, then act. */
const atPaused = (i: number, f: (m: MaState) => unknown) => (m: MaState) => {
  m.set(i);
  m.pause();
  return f(m);
};

describe('maple state transitions (check_state_handling)', () => {
  it('single entry at 0 (the root itself)', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 0, 0, 'p1');
    const mas = new MaState(mt, 0);
    const steps: Step[] = [
      ['prev: start -> underflow', (m) => m.prev(0), undefined, null, null, ma_underflow],
      ['prev: start -> root', at(10, (m) => m.prev(0)), 'p1', 0, 0, ma_root],
      ['prev: pause -> root', atPaused(10, (m) => m.prev(0)), 'p1', 0, 0, ma_root],
      ['next: start -> none', at(0, (m) => m.next(MAPLE_MAX)), undefined, 1, MAPLE_MAX, ma_none],
      ['next: start -> none (10)', at(10, (m) => m.next(MAPLE_MAX)), undefined, 1, MAPLE_MAX, ma_none],
      ['find: start -> root', at(0, (m) => m.find(MAPLE_MAX)), 'p1', 0, 0, ma_root],
      ['find: root -> none', (m) => m.find(MAPLE_MAX), undefined, 1, MAPLE_MAX, ma_none],
      ['find: none -> none', (m) => m.find(MAPLE_MAX), undefined, 1, MAPLE_MAX, ma_none],
      ['find: start -> none', at(10, (m) => m.find(MAPLE_MAX)), undefined, 1, MAPLE_MAX, ma_none],
      ['find_rev: none -> root', (m) => m.findRev(0), 'p1', 0, 0, ma_root],
      ['find_rev: start -> root', at(0, (m) => m.findRev(0)), 'p1', 0, 0, ma_root],
      ['find_rev: root -> none', (m) => m.findRev(0), undefined, 0, 0, ma_none],
      ['find_rev: none -> none', (m) => m.findRev(0), undefined, 0, 0, ma_none],
      ['find_rev: start -> root (10)', at(10, (m) => m.findRev(0)), 'p1', 0, 0, ma_root],
      ['walk: start -> none', at(10, (m) => m.walk()), undefined, 1, MAPLE_MAX, ma_none],
      ['walk: pause -> none', atPaused(10, (m) => m.walk()), undefined, 1, MAPLE_MAX, ma_none],
      [
        'walk: none -> none',
        (m) => {
          m.index = 10;
          m.last = 10;
          return m.walk();
        },
        undefined,
        1,
        MAPLE_MAX,
        ma_none,
      ],
      ['walk: none -> none again', (m) => m.walk(), undefined, 1, MAPLE_MAX, ma_none],
      ['walk: start -> root', at(0, (m) => m.walk()), 'p1', 0, 0, ma_root],
      ['walk: pause -> root', atPaused(0, (m) => m.walk()), 'p1', 0, 0, ma_root],
      [
        'walk: none -> root',
        (m) => {
          m.status = ma_none;
          return m.walk();
        },
        'p1',
        0,
        0,
        ma_root,
      ],
      ['walk: root -> root', (m) => m.walk(), 'p1', 0, 0, ma_root],
      ['walk: root -> none', at(10, (m) => m.walk()), undefined, 1, MAPLE_MAX, ma_none],
      [
        'walk: none -> root (0)',
        (m) => {
          m.index = 0;
          m.last = 0;
          return m.walk();
        },
        'p1',
        0,
        0,
        ma_root,
      ],
    ];
    replay(mas, steps);
  });

  it('a tree with nodes', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 0, 0, 'p1');
    mtreeStoreRange(mt, 0, 0, undefined);
    mtreeStoreRange(mt, 0x1000, 0x1500, 'p1');
    mtreeStoreRange(mt, 0x2000, 0x2500, 'p2');
    mtreeStoreRange(mt, 0x3000, 0x3500, 'p3');
    const mas = new MaState(mt, 0);
    const steps: Step[] = [
      ['next: start -> active', at(0, (m) => m.next(MAPLE_MAX)), 'p1', 0x1000, 0x1500, ma_active],
      ['next: pause -> active', atPaused(0, (m) => m.next(MAPLE_MAX)), 'p1', 0x1000, 0x1500, ma_active],
      [
        'next: none -> active',
        (m) => {
          m.index = 0;
          m.last = 0;
          m.offset = 0;
          m.status = ma_none;
          return m.next(MAPLE_MAX);
        },
        'p1',
        0x1000,
        0x1500,
        ma_active,
      ],
      ['next: active -> active (spanning limit)', (m) => m.next(0x2100), 'p2', 0x2000, 0x2500, ma_active],
      ['next: active -> overflow beyond data', (m) => m.next(0x2999), undefined, 0x2501, 0x2fff, ma_overflow],
      ['next: overflow -> active (limit changed)', (m) => m.next(MAPLE_MAX), 'p3', 0x3000, 0x3500, ma_active],
      ['next: active -> overflow', (m) => m.next(MAPLE_MAX), undefined, 0x3501, MAPLE_MAX, ma_overflow],
      ['next: overflow -> overflow', (m) => m.next(MAPLE_MAX), undefined, 0x3501, MAPLE_MAX, ma_overflow],
      ['prev: overflow -> active', (m) => m.prev(0), 'p3', 0x3000, 0x3500, ma_active],
      [
        'next: none -> active, skip value at location',
        (m) => {
          m.set(0);
          m.next(MAPLE_MAX);
          m.status = ma_none;
          m.offset = 0;
          return m.next(MAPLE_MAX);
        },
        'p2',
        0x2000,
        0x2500,
        ma_active,
      ],
      ['prev: active -> active', (m) => m.prev(0), 'p1', 0x1000, 0x1500, ma_active],
      [
        'prev: active (spanning limit)',
        (m) => {
          m.next(MAPLE_MAX);
          return m.prev(0x1200);
        },
        'p1',
        0x1000,
        0x1500,
        ma_active,
      ],
      ['prev: active -> underflow', (m) => m.prev(0x1200), undefined, 0x1000, 0x1500, ma_underflow],
      ['prev: underflow -> underflow spanning end range', (m) => m.prev(0x100), undefined, 0, 0x0fff, ma_underflow],
      ['prev: underflow -> underflow', (m) => m.prev(0), undefined, 0, 0x0fff, ma_underflow],
      ['prev: underflow -> underflow again', (m) => m.prev(0), undefined, 0, 0x0fff, ma_underflow],
      ['next: underflow -> active', (m) => m.next(MAPLE_MAX), 'p1', 0x1000, 0x1500, ma_active],
      ['prev: first value -> underflow', (m) => m.prev(0x1000), undefined, 0x1000, 0x1500, ma_underflow],
      ['find: underflow -> first value', (m) => m.find(MAPLE_MAX), 'p1', 0x1000, 0x1500, ma_active],
      [
        'prev: pause -> active',
        (m) => {
          m.set(0x3600);
          expect(m.prev(0)).toBe('p3');
          m.pause();
          return m.prev(0);
        },
        'p2',
        0x2000,
        0x2500,
        ma_active,
      ],
      ['prev: active -> underflow spanning min', (m) => m.prev(0x1600), undefined, 0x1501, 0x1fff, ma_underflow],
    ];
    replay(mas, steps);
  });
});

describe('empty area window (check_empty_area_window)', () => {
  it('finds the kernel answers', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    for (let i = 1; i <= 20; i++) mtreeStoreRange(mt, i * 10, i * 10 + 9, i);
    mtreeStoreRange(mt, 160, 169, undefined);
    const mas = new MaState(mt);
    const rev: Array<[number, number, number, number, number?]> = [
      [5, 90, 10, -EBUSY],
      [6, 90, 5, -EBUSY],
      [5, 90, 5, 0, 5],
      [5, 217, 9, 0, 161],
      [100, 218, 3, 0, 216],
      [100, 218, 16, -EBUSY],
      [167, 200, 4, -EBUSY],
      [100, 162, 4, -EBUSY],
    ];
    for (const [min, max, size, ret, index] of rev) {
      mas.reset();
      expect([min, max, size, mas.emptyAreaRev(min, max, size)]).toEqual([min, max, size, ret]);
      if (index !== undefined) expect([mas.index, mas.last]).toEqual([index, index + size - 1]);
    }
    const fwd: Array<[number, number, number, number, number?]> = [
      [0, 100, 9, 0, 0],
      [0, 100, 4, 0, 0],
      [0, 100, 11, -EBUSY],
      [5, 100, 6, -EBUSY],
      [0, 8, 10, -EINVAL],
      [100, 165, 3, 0, 160],
      [100, 163, 6, -EBUSY],
    ];
    for (const [min, max, size, ret, index] of fwd) {
      mas.reset();
      expect([min, max, size, mas.emptyArea(min, max, size)]).toEqual([min, max, size, ret]);
      if (index !== undefined) expect([mas.index, mas.last]).toEqual([index, index + size - 1]);
    }
  });
});
