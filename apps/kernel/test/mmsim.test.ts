import { describe, expect, it } from 'vitest';
import { formatSections, main, parseArgs, runDemo } from '../src/index.js';

describe('parseArgs', () => {
  it('defaults to the demo on the small preset', () => {
    expect(parseArgs([])).toEqual({ kind: 'demo', preset: 'small' });
  });
  it('reads --preset and --seed', () => {
    expect(parseArgs(['demo', '--preset', 'server2s', '--seed', '7'])).toEqual({
      kind: 'demo',
      preset: 'server2s',
      seed: 7,
    });
  });
  it.each([
    [['demo', '--preset', 'huge'], /--preset needs one of/],
    [['demo', '--seed', '-1'], /--seed needs/],
    [['demo', '--bogus'], /unknown option "--bogus"/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('rejects %j', (argv, msg) => {
    const r = parseArgs(argv);
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.message).toMatch(msg);
  });
});

describe('runDemo', () => {
  it('prints the topology of the default machine', () => {
    const text = formatSections(runDemo());
    expect(text).toContain('== topology (numactl --hardware) ==');
    expect(text).toContain('machine: x86_64, 4 CPUs, 1 node, 1 GiB, 4 KiB pages');
    expect(text).toContain('node 0 cpus: 0-3');
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = formatSections(runDemo({ seed: 5 }));
    expect(formatSections(runDemo({ seed: 5 }))).toBe(a);
    expect(formatSections(runDemo({ seed: 6 }))).not.toBe(a);
  });
});

describe('main', () => {
  it('exits 0 and writes the demo', () => {
    let out = '';
    expect(
      main(
        ['demo', '--preset', 'large'],
        (s) => {
          out += s;
        },
        () => {},
      ),
    ).toBe(0);
    expect(out).toContain('256 CPUs, 8 nodes, 1 TiB');
  });
  it('exits 2 with usage on bad arguments', () => {
    let err = '';
    expect(
      main(
        ['demo', '--nope'],
        () => {},
        (s) => {
          err += s;
        },
      ),
    ).toBe(2);
    expect(err).toContain('usage: mmsim');
  });
});

describe('demo page allocator section', () => {
  it('shows buddyinfo for every node and leaves the machine valid', () => {
    const sections = runDemo({ preset: 'server2s' });
    const buddy = sections.find((s) => s.title === '/proc/buddyinfo');
    expect(buddy?.text).toMatch(/^Node 0, zone {4}DMA32/m);
    expect(buddy?.text).toMatch(/^Node 1, zone {3}Normal/m);
    const load = sections.find((s) => s.title === 'page allocator workload');
    expect(load?.text).toMatch(/freed a random half \(\d+ blocks\); 0 failed/);
  });
});

describe('demo slab section', () => {
  it('runs the slab workload and prints /proc/slabinfo with the mm caches', () => {
    const sections = runDemo();
    const info = sections.find((s) => s.title === '/proc/slabinfo')?.text ?? '';
    expect(info.split('\n')[0]).toBe('slabinfo - version: 2.1');
    expect(info).toMatch(/^vm_area_struct\s+\d+\s+\d+\s+192\s+21\s+1 :/m);
    expect(info).toMatch(/^maple_node\s+\d+\s+\d+\s+256\s+16\s+1 :/m);
    const load = sections.find((s) => s.title.startsWith('slab workload'))?.text ?? '';
    const m = /(\d+) vm_area_structs allocated, (\d+) freed \((\d+) by kfree_rcu\)/.exec(load);
    expect(m).not.toBeNull();
    const [allocated, freed, rcu] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
    expect(freed).toBeLessThanOrEqual(allocated);
    expect(rcu).toBeGreaterThan(0);
    // every allocation was served from a percpu sheaf (no NUMA node was named)
    expect(load).toContain(`alloc_cpu_sheaf=${allocated}`);
    expect(load).toContain(`free_rcu_sheaf=${rcu}`);
  });
});

describe('demo process section', () => {
  it('shows cat in /proc/1/maps and a valid VMA tree', () => {
    const sections = runDemo();
    const maps = sections.find((s) => s.title === '/proc/1/maps (the VMA workload)')?.text ?? '';
    expect(maps.split('\n')[0]).toBe(
      '555555554000-555555556000 r--p 00000000 08:01 1574083                    /usr/bin/cat',
    );
    expect(maps).toContain('[stack]');
    const proc = sections.find((s) => s.title.startsWith('process address space'))?.text ?? '';
    expect(proc).toMatch(/VMA tree: \d+ VMAs in \d+ maple nodes .* mt_validate ok/);
    expect(proc).toMatch(/sheaf_prefill_fast=\d+/);
  });

  it('frees dead maple nodes with kfree_rcu through the rcu_free sheaf (issue 9 item 7)', () => {
    const proc = runDemo().find((s) => s.title.startsWith('process address space'))?.text ?? '';
    const dead = Number(/(\d+) dead nodes freed after an RCU grace period/.exec(proc)?.[1]);
    const viaSheaf = Number(/free_rcu_sheaf=(\d+)/.exec(proc)?.[1]);
    const failed = Number(/free_rcu_sheaf_fail=(\d+)/.exec(proc)?.[1]);
    expect(dead).toBeGreaterThan(0);
    // every dead node went through kfree_rcu: into the rcu_free sheaf, or failed over to the batches
    expect(viaSheaf).toBeGreaterThan(0);
    expect(viaSheaf + failed).toBe(dead);
  });
});

describe('demo processes on the composed kernel', () => {
  it('faults, forks, CoWs, mremaps and exits, printing /proc views', () => {
    const text = formatSections(runDemo({ seed: 3 }));
    expect(text).toContain('== /proc/1/smaps_rollup ==');
    expect(text).toMatch(
      /child reads 2000, 1040, 42, 7 \(own copy, shared page, file page, THP\); parent reads 1000, 1040/,
    );
    expect(text).toMatch(/parent reads 1000, 1063, 0/);
    expect(text).toMatch(/wait\(\) -> pid 2 status 3/);
    expect(text).toMatch(/\ncow_fault 32\n/);
    expect(text).toMatch(/AnonHugePages: +2048 kB/);
  });
});
