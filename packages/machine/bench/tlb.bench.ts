/**
 * DOC: TLB-hit `access()` (target: under 50 ns/op), against a bare
 * typed-array load of the same pages measured in the same run; plus a
 * miss + walk + fill with a trivial walker, and a 4-CPU IPI shootdown of one
 * page.
 */
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  type AddressSpace,
  createMachine,
  type HardwareWalker,
  MMU_READ,
  MMU_USER,
  TLB_USER,
  TLB_WRITE,
  WALK_OK,
  type WalkResult,
} from '../src/index.js';

const suite = new BenchSuite('@mm/machine: tlb');
const PAGE = 4096;

/**
 * A walker with no tables (the bench measures the MMU, not the walker): page n
 * maps to frame (n mod 2^18) + 1000, a frame number of a 1 GiB machine. Real
 * PFNs stay below 2^30 (4 TiB), so V8 keeps them as small integers and the hit
 * path returns them without boxing.
 */
const identityWalker: HardwareWalker = {
  walk(_as: AddressSpace, vaddr: number, _kind: number, out: WalkResult): number {
    out.pfn = (Math.floor(vaddr / PAGE) % 262144) + 1000;
    out.shift = 12;
    out.flags = TLB_WRITE | TLB_USER;
    out.levels = 4;
    return WALK_OK;
  },
};

const m = createMachine({ preset: 'server2s' });
const mmu = m.mmu;
mmu.registerWalker(identityWalker);
const as = mmu.createAddressSpace(1);

// 64 pages spread over sets, all resident in the 1536-entry 4K TLB.
const N = 64;
const addrs = new Float64Array(N);
for (let i = 0; i < N; i++) addrs[i] = 0x7f00_0000_0000 + i * 37 * PAGE + ((i * 8) % PAGE);
for (let i = 0; i < N; i++) mmu.access(0, as, addrs[i]!, MMU_READ | MMU_USER);
const ROUNDS = 200;
let sink = 0;

const hit = await suite.time(
  'access() TLB hit',
  () => {
    let s = 0;
    for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < N; i++) s += mmu.access(0, as, addrs[i]!, MMU_READ | MMU_USER);
    sink ^= s;
  },
  { opsPerCall: N * ROUNDS },
);

// The reference: the cheapest translation imaginable, one typed-array load per access.
const table = new Float64Array(1 << 16);
for (let i = 0; i < table.length; i++) table[i] = i + 1000;
const ref = await suite.time(
  'Float64Array page-table load',
  () => {
    let s = 0;
    for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < N; i++) s += table[(addrs[i]! / PAGE) & 0xffff]!;
    sink ^= s;
  },
  { opsPerCall: N * ROUNDS },
);
suite.record({
  name: 'access() TLB hit (target < 50)',
  value: hit.nsPerOp,
  unit: 'ns/op',
  reference: 'one Float64Array load per access (same run)',
  ratio: hit.nsPerOp / ref.nsPerOp,
});

// Misses: a 4K TLB of 16 entries cycled over 64 pages always misses.
const small = createMachine({ tlb: { entries4k: 16, ways4k: 4 } });
small.mmu.registerWalker(identityWalker);
const sas = small.mmu.createAddressSpace(1);
const miss = await suite.time(
  'access() miss + walk + fill',
  () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += small.mmu.access(0, sas, i * PAGE * 16, MMU_READ | MMU_USER);
    sink ^= s;
  },
  { opsPerCall: N },
);
suite.record({ name: 'access() miss + walk + fill', value: miss.nsPerOp, unit: 'ns/op' });

// One-page shootdown with the page cached on 4 CPUs.
for (let c = 1; c < 4; c++) mmu.access(c, as, addrs[0]!, MMU_READ | MMU_USER);
const shoot = await suite.time('flushTlbPage() to 4 CPUs', () => {
  mmu.flushTlbPage(as, addrs[0]!);
  for (let c = 0; c < 4; c++) sink += mmu.access(c, as, addrs[0]!, MMU_READ | MMU_USER);
});
suite.record({ name: 'flushTlbPage() shootdown to 4 CPUs + 4 refills', value: shoot.nsPerOp, unit: 'ns/op' });

if (sink === 0.5) console.log(sink);
suite.finish();
