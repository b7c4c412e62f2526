/**
 * The sysfs admin tree: layout and defaults, the kernel's store validation,
 * and the state commands driving a kdamond on the standalone workload the
 * way a script drives real DAMON.
 */
import { describe, expect, it } from 'vitest';
import {
  DamonSysfs,
  damonPaddrOps,
  damonRegisterOps,
  damonVaddrOps,
  kstrtobool,
  kstrtoint,
  kstrtoul,
  syntheticVaddrEnv,
} from '../src/index.js';
import { stairsCfg, standalone } from './helpers/standalone.js';

function setup() {
  const s = standalone(stairsCfg(3, 4 << 20, 10000));
  damonRegisterOps(s.damon, damonVaddrOps(syntheticVaddrEnv([s.space], s.machine)));
  const fs = new DamonSysfs(s.damon);
  return { ...s, fs };
}

const C = 'kdamonds/0/contexts/0';

function mkTree(fs: DamonSysfs, pid: number): void {
  expect(fs.write('kdamonds/nr_kdamonds', '1')).toBeGreaterThan(0);
  expect(fs.write('kdamonds/0/contexts/nr_contexts', '1')).toBeGreaterThan(0);
  expect(fs.write(`${C}/targets/nr_targets`, '1')).toBeGreaterThan(0);
  expect(fs.write(`${C}/targets/0/pid_target`, `${pid}`)).toBeGreaterThan(0);
}

describe('kstrto helpers', () => {
  it('parse like the kernel', () => {
    expect(kstrtoul('0x10\n')).toEqual({ err: 0, value: 16 });
    expect(kstrtoul('010')).toEqual({ err: 0, value: 8 });
    expect(kstrtoul('+5')).toEqual({ err: 0, value: 5 });
    expect(kstrtoul('-5').err).toBe(-22);
    expect(kstrtoul('5 ').err).toBe(-22);
    expect(kstrtoul('').err).toBe(-22);
    expect(kstrtoul('18446744073709551616').err).toBe(-34);
    expect(kstrtoint('-2147483648')).toEqual({ err: 0, value: -2147483648 });
    expect(kstrtoint('2147483648').err).toBe(-34);
    expect(kstrtobool('on')).toEqual({ err: 0, value: 1 });
    expect(kstrtobool('N\n')).toEqual({ err: 0, value: 0 });
    expect(kstrtobool('x').err).toBe(-22);
  });
});

describe('DAMON sysfs admin tree', () => {
  it('has the kernel layout with its defaults', () => {
    const { fs, space } = setup();
    mkTree(fs, space.pid);
    expect(fs.write(`${C}/schemes/nr_schemes`, '1')).toBe(2);
    const d = fs.dump();
    expect(d['kdamonds/nr_kdamonds']).toBe('1');
    expect(d['kdamonds/0/state']).toBe('off');
    expect(d['kdamonds/0/pid']).toBe('-1');
    expect(d[`${C}/avail_operations`]).toBe('vaddr');
    expect(d[`${C}/operations`]).toBe('vaddr');
    expect(d[`${C}/monitoring_attrs/intervals/sample_us`]).toBe('5000');
    expect(d[`${C}/monitoring_attrs/intervals/aggr_us`]).toBe('100000');
    expect(d[`${C}/monitoring_attrs/intervals/update_us`]).toBe('60000000');
    for (const f of ['access_bp', 'aggrs', 'min_sample_us', 'max_sample_us']) {
      expect(d[`${C}/monitoring_attrs/intervals/intervals_goal/${f}`]).toBe('0');
    }
    expect(d[`${C}/monitoring_attrs/nr_regions/min`]).toBe('10');
    expect(d[`${C}/monitoring_attrs/nr_regions/max`]).toBe('1000');
    expect(d[`${C}/targets/0/regions/nr_regions`]).toBe('0');
    expect(d[`${C}/schemes/0/action`]).toBe('stat');
    expect(d[`${C}/schemes/0/target_nid`]).toBe('-1');
    expect(d[`${C}/schemes/0/apply_interval_us`]).toBe('0');
    for (const r of ['sz', 'nr_accesses', 'age']) {
      expect(d[`${C}/schemes/0/access_pattern/${r}/min`]).toBe('0');
      expect(d[`${C}/schemes/0/access_pattern/${r}/max`]).toBe('0');
    }
    expect(d[`${C}/schemes/0/quotas/weights/sz_permil`]).toBe('0');
    expect(d[`${C}/schemes/0/watermarks/metric`]).toBe('none');
    expect(d[`${C}/schemes/0/stats/nr_tried`]).toBe('0');
    expect(d[`${C}/schemes/0/tried_regions/total_bytes`]).toBe('0');
    expect(fs.ls(`${C}/schemes/0`)).toEqual([
      'access_pattern',
      'action',
      'apply_interval_us',
      'core_filters',
      'dests',
      'filters',
      'ops_filters',
      'quotas',
      'stats',
      'target_nid',
      'tried_regions',
      'watermarks',
    ]);
  });

  it('rejects what the kernel rejects and keeps the old value', () => {
    const { fs, space } = setup();
    mkTree(fs, space.pid);
    expect(fs.write('kdamonds/0/contexts/nr_contexts', '2')).toBe(-22);
    expect(fs.write('kdamonds/nr_kdamonds', '-1')).toBe(-22);
    expect(fs.write(`${C}/operations`, 'kaddr')).toBe(-22);
    expect(fs.write(`${C}/monitoring_attrs/intervals/sample_us`, 'abc')).toBe(-22);
    expect(fs.write(`${C}/monitoring_attrs/intervals/sample_us`, '18446744073709551616')).toBe(-34);
    expect(fs.read(`${C}/monitoring_attrs/intervals/sample_us`)).toBe('5000\n');
    expect(fs.write(`${C}/schemes/nr_schemes`, '1')).toBe(2);
    expect(fs.write(`${C}/schemes/0/action`, 'collapse')).toBe(-22);
    expect(fs.write(`${C}/schemes/0/core_filters/nr_filters`, '1')).toBe(2);
    expect(fs.write(`${C}/schemes/0/core_filters/0/type`, 'anon')).toBe(-22); // ops type in the core dir
    expect(fs.write(`${C}/schemes/0/core_filters/0/type`, 'addr')).toBe(5);
    expect(fs.write(`${C}/schemes/0/core_filters/0/matching`, 'maybe')).toBe(-22);
    expect(fs.write(`${C}/schemes/0/stats/nr_tried`, '5')).toBe(-13); // read-only
    expect(fs.write('kdamonds/0/state', 'start')).toBe(-22);
    expect(fs.write('kdamonds/9/state', 'on')).toBe(-2);
    // commands other than on/off need a running kdamond
    expect(fs.write('kdamonds/0/state', 'commit')).toBe(-22);
    expect(fs.write('kdamonds/0/state', 'update_schemes_stats')).toBe(-22);
  });

  it('validates inputs when turning on', () => {
    const { fs, space, damon } = setup();
    mkTree(fs, space.pid);
    // regions: end before start, then overlapping
    fs.write(`${C}/targets/0/regions/nr_regions`, '2');
    fs.write(`${C}/targets/0/regions/0/start`, '8192');
    fs.write(`${C}/targets/0/regions/0/end`, '4096');
    expect(fs.write('kdamonds/0/state', 'on')).toBe(-22);
    fs.write(`${C}/targets/0/regions/0/end`, '16384');
    fs.write(`${C}/targets/0/regions/1/start`, '12288');
    fs.write(`${C}/targets/0/regions/1/end`, '20480');
    expect(fs.write('kdamonds/0/state', 'on')).toBe(-22);
    fs.write(`${C}/targets/0/regions/nr_regions`, '0');
    // min_nr_regions < 3
    fs.write(`${C}/monitoring_attrs/nr_regions/min`, '2');
    expect(fs.write('kdamonds/0/state', 'on')).toBe(-22);
    fs.write(`${C}/monitoring_attrs/nr_regions/min`, '10');
    // a pid that does not resolve
    fs.write(`${C}/targets/0/pid_target`, '4242');
    expect(fs.write('kdamonds/0/state', 'on')).toBe(-22);
    fs.write(`${C}/targets/0/pid_target`, `${space.pid}`);
    // paddr: not registered here
    fs.write(`${C}/operations`, 'paddr');
    expect(fs.write('kdamonds/0/state', 'on')).toBe(-22);
    // paddr registered, two targets
    damonRegisterOps(damon, damonPaddrOps({ view: {} as never }));
    fs.write(`${C}/targets/nr_targets`, '2');
    expect(fs.write('kdamonds/0/state', 'on')).toBe(-22);
    expect(fs.read('kdamonds/0/state')).toBe('off\n');
  });

  it('turns DAMON on and off, commits, refreshes stats, tried regions and tuned intervals', () => {
    const { fs, space, machine, damon } = setup();
    mkTree(fs, space.pid);
    fs.write(`${C}/schemes/nr_schemes`, '1');
    fs.write(`${C}/schemes/0/access_pattern/sz/max`, `${2 ** 40}`);
    fs.write(`${C}/schemes/0/access_pattern/nr_accesses/max`, '1000');
    fs.write(`${C}/schemes/0/access_pattern/age/max`, '1000000');
    fs.writeOrThrow('kdamonds/0/state', 'on');
    expect(fs.read('kdamonds/0/state')).toBe('on\n');
    const pid = Number(fs.read('kdamonds/0/pid'));
    expect(machine.sched.tasks[pid]!.name).toBe('kdamond.0');
    expect(fs.write('kdamonds/0/state', 'on')).toBe(-16);
    expect(fs.write('kdamonds/nr_kdamonds', '2')).toBe(-16);
    machine.sched.runUntil(1e9);
    // stats are visible only after update_schemes_stats
    expect(fs.read(`${C}/schemes/0/stats/nr_tried`)).toBe('0\n');
    fs.writeOrThrow('kdamonds/0/state', 'update_schemes_stats');
    const tried = Number(fs.read(`${C}/schemes/0/stats/nr_tried`));
    expect(tried).toBeGreaterThan(0);
    // tried regions through damos_walk: takes one apply interval of virtual time
    const t0 = machine.clock.now;
    fs.writeOrThrow('kdamonds/0/state', 'update_schemes_tried_regions');
    expect(machine.clock.now - t0).toBeGreaterThan(0);
    expect(machine.clock.now - t0).toBeLessThanOrEqual(110e6);
    const n = fs.ls(`${C}/schemes/0/tried_regions`).filter((x) => /^\d+$/.test(x)).length;
    expect(n).toBeGreaterThanOrEqual(3);
    const total = Number(fs.read(`${C}/schemes/0/tried_regions/total_bytes`));
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const r = `${C}/schemes/0/tried_regions/${i}`;
      sum += Number(fs.read(`${r}/end`)) - Number(fs.read(`${r}/start`));
      expect(Number(fs.read(`${r}/nr_accesses`))).toBeLessThanOrEqual(20);
    }
    expect(sum).toBe(total);
    fs.writeOrThrow('kdamonds/0/state', 'clear_schemes_tried_regions');
    expect(fs.ls(`${C}/schemes/0/tried_regions`)).toEqual(['total_bytes']);
    fs.writeOrThrow('kdamonds/0/state', 'update_schemes_tried_bytes');
    expect(Number(fs.read(`${C}/schemes/0/tried_regions/total_bytes`))).toBeGreaterThan(0);
    expect(fs.ls(`${C}/schemes/0/tried_regions`)).toEqual(['total_bytes']);
    // commit: new intervals and an auto-tuning goal; the tuned values show after update_tuned_intervals
    fs.write(`${C}/monitoring_attrs/intervals/intervals_goal/access_bp`, '400');
    fs.write(`${C}/monitoring_attrs/intervals/intervals_goal/aggrs`, '3');
    fs.write(`${C}/monitoring_attrs/intervals/intervals_goal/min_sample_us`, '1000');
    fs.write(`${C}/monitoring_attrs/intervals/intervals_goal/max_sample_us`, '10000000');
    fs.writeOrThrow('kdamonds/0/state', 'commit');
    const ctx = damon.running.values().next().value!;
    expect(ctx.attrs.intervalsGoal.aggrs).toBe(3);
    machine.sched.runUntil(machine.clock.now + 5e9);
    expect(fs.read(`${C}/monitoring_attrs/intervals/sample_us`)).toBe('5000\n');
    fs.writeOrThrow('kdamonds/0/state', 'update_tuned_intervals');
    expect(Number(fs.read(`${C}/monitoring_attrs/intervals/sample_us`))).toBe(ctx.attrs.sampleInterval);
    expect(Number(fs.read(`${C}/monitoring_attrs/intervals/aggr_us`))).toBe(ctx.attrs.aggrInterval);
    expect(ctx.attrs.sampleInterval).not.toBe(5000);
    // a bad commit is rejected and leaves the running context as it was
    fs.write(`${C}/monitoring_attrs/nr_regions/min`, '2000');
    expect(fs.write('kdamonds/0/state', 'commit')).toBe(-22);
    expect(ctx.attrs.minNrRegions).toBe(10);
    fs.writeOrThrow('kdamonds/0/state', 'off');
    expect(fs.read('kdamonds/0/state')).toBe('off\n');
    expect(fs.read('kdamonds/0/pid')).toBe('-1\n');
  });

  it('refresh_ms refreshes stats and tuned intervals periodically', () => {
    const { fs, space, machine } = setup();
    mkTree(fs, space.pid);
    fs.write(`${C}/schemes/nr_schemes`, '1');
    fs.write(`${C}/schemes/0/access_pattern/sz/max`, `${2 ** 40}`);
    fs.write(`${C}/schemes/0/access_pattern/nr_accesses/max`, '1000');
    fs.write(`${C}/schemes/0/access_pattern/age/max`, '1000000');
    fs.write('kdamonds/0/refresh_ms', '100');
    fs.writeOrThrow('kdamonds/0/state', 'on');
    machine.sched.runUntil(1e9);
    expect(Number(fs.read(`${C}/schemes/0/stats/nr_tried`))).toBeGreaterThan(0);
  });
});
