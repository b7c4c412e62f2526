/** The README examples, kept true. */
import { expect, it } from 'vitest';
import {
  createStandaloneMonitor,
  DAMOS_PAGEOUT,
  DamonSysfs,
  damoHeatmapPng,
  damonAccuracyReport,
  damonAddScheme,
  damonNewScheme,
  damonStart,
  damoRecord,
  damoReportAccess,
  damoReportHeatmap,
  damosPatternAll,
  damosQuotaNone,
  damosWmarksNone,
  damoWriteJsonCompressed,
  MADV_PAGEOUT,
  MASIM_STAIRS_CFG,
  ULONG_MAX,
} from '../src/index.js';

it('README: monitoring a standalone workload, records and reports', () => {
  const m = createStandaloneMonitor({ masimConfig: MASIM_STAIRS_CFG, seed: 42 });
  const rec = damoRecord(m.ctx);
  damonStart(m.damon, [m.ctx], false);
  m.machine.sched.runUntil(20e9); // 20 s of virtual time
  rec.stop();
  const last = { ...rec.records[0]!, snapshots: rec.records[0]!.snapshots.slice(-1) };
  const access = damoReportAccess([last], { color: false });
  expect(access.split('\n')[0]).toMatch(/^heatmap: [0-9.[\]]+$/);
  expect(access).toMatch(/memory bw estimate: .* per second\ntotal size: .*$/);
  expect(damoReportAccess([last], { style: 'recency-sz-hist' }).split('\n')[0]).toBe(
    '<last accessed time (us)> <total size>',
  );
  expect(damoReportHeatmap(rec.records, { color: false }).split('\n').length).toBe(44);
  expect(damoHeatmapPng(rec.records).length).toBeGreaterThan(1000);
  expect(damoWriteJsonCompressed(rec.records)[0]).toBe(0x78); // damo's default record format
});

it('README: a DAMOS scheme paging out memory idle for 5 s', () => {
  const m = createStandaloneMonitor({ masimConfig: MASIM_STAIRS_CFG });
  const scheme = damonNewScheme(
    { ...damosPatternAll(), maxNrAccesses: 0, minAgeRegion: 50, maxAgeRegion: ULONG_MAX }, // 50 × 100 ms
    DAMOS_PAGEOUT,
    0, // apply every aggregation interval
    { ...damosQuotaNone(), sz: 64 << 20, resetInterval: 1000 }, // at most 64 MiB per second
    damosWmarksNone(),
  );
  damonAddScheme(m.ctx, scheme);
  damonStart(m.damon, [m.ctx], false);
  m.machine.sched.runUntil(30e9);
  expect(scheme.stat.szApplied).toBeGreaterThan(0);
  expect(m.space.madviseBytes.get(MADV_PAGEOUT)).toBe(scheme.stat.szApplied);
});

it('README: auto-tuning through the sysfs admin tree', () => {
  const m = createStandaloneMonitor({ masimConfig: MASIM_STAIRS_CFG });
  const fs = new DamonSysfs(m.damon);
  const ctx = 'kdamonds/0/contexts/0';
  fs.writeOrThrow('kdamonds/nr_kdamonds', '1');
  fs.writeOrThrow('kdamonds/0/contexts/nr_contexts', '1');
  fs.writeOrThrow(`${ctx}/operations`, 'vaddr');
  fs.writeOrThrow(`${ctx}/targets/nr_targets`, '1');
  fs.writeOrThrow(`${ctx}/targets/0/pid_target`, `${m.space.pid}`);
  const goal = `${ctx}/monitoring_attrs/intervals/intervals_goal`;
  fs.writeOrThrow(`${goal}/access_bp`, '400'); // 4 %
  fs.writeOrThrow(`${goal}/aggrs`, '3');
  fs.writeOrThrow(`${goal}/min_sample_us`, '1000');
  fs.writeOrThrow(`${goal}/max_sample_us`, '10000000');
  fs.writeOrThrow('kdamonds/0/state', 'on');
  m.machine.sched.runUntil(20e9);
  fs.writeOrThrow('kdamonds/0/state', 'update_tuned_intervals');
  const sample = Number(fs.read(`${ctx}/monitoring_attrs/intervals/sample_us`));
  const aggr = Number(fs.read(`${ctx}/monitoring_attrs/intervals/aggr_us`));
  expect(sample).not.toBe(5000);
  expect(aggr / sample).toBe(20);
});

it('README: the accuracy report', () => {
  const sweep = damonAccuracyReport({
    masimConfig: 'hot, 8388608\ncold, 268435456\n\nmix\n60000\nhot, 0, 4096, 98\ncold, 1, 4096, 2\n',
    durationNs: 4e9,
    accuracy: { skipNs: 1e9 },
    variants: [
      { name: 'default (5 ms / 100 ms)' },
      { name: '50 ms / 1 s', attrs: { sampleInterval: 50000, aggrInterval: 1000000 } },
    ],
  });
  expect(sweep.rows.length).toBe(2);
  expect(sweep.text()).toContain('DAMON-wss/touched');
});
