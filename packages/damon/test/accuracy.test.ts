/**
 * The ground-truth accuracy report: exact on an always-hot workload, and on
 * a workload with rarely touched memory it shows DAMON's working set falling
 * short of the touched bytes, less so with a longer sampling interval.
 */
import { describe, expect, it } from 'vitest';
import { damonAccuracyMonitor, damonAccuracyReport, damonStart, formatDamonAccuracyReport } from '../src/index.js';
import { standalone } from './helpers/standalone.js';

describe('damonAccuracyReport', () => {
  it('is exact where every page of the hot region is touched in every sample', () => {
    const s = standalone('hot, 8388608\nidle, 33554432\n\np\n60000\nhot, 0, 4096, 1\n');
    const mon = damonAccuracyMonitor(s.ctx, s.space, { skipNs: 1e9 });
    damonStart(s.damon, [s.ctx], false);
    s.machine.sched.runUntil(3e9);
    const rep = mon.report();
    expect(rep.windows.length).toBeGreaterThan(15);
    // regions over the hot range see 20/20 and the truth is 20/20; the idle region 0/0
    expect(rep.meanAbsError).toBeLessThan(0.5);
    expect(rep.precision).toBeGreaterThan(0.97);
    expect(rep.recall).toBeGreaterThan(0.97);
    const hotBytes = 8388608;
    for (const w of rep.windows) {
      expect(w.touchedBytes).toBeCloseTo(hotBytes, -5);
      expect(w.trueHotBytes).toBeGreaterThanOrEqual(hotBytes - 65536);
    }
    const text = formatDamonAccuracyReport(rep);
    expect(text).toContain('hot set: precision');
    expect(text.split('\n').length).toBe(6 + 21);
    mon.stop();
  });

  it('shows rarely touched memory missing from DAMON’s working set, less so at longer sampling intervals', () => {
    const cfg = 'hot, 8388608\ncold, 536870912\n\nmix\n600000\nhot, 0, 4096, 98\ncold, 1, 4096, 2\n';
    const sweep = damonAccuracyReport({
      masimConfig: cfg,
      durationNs: 6e9,
      accuracy: { skipNs: 2e9 },
      variants: [{ name: 'default' }, { name: '50 ms', attrs: { sampleInterval: 50000, aggrInterval: 1000000 } }],
    });
    const [def, slow] = sweep.rows;
    const share = (r: typeof def) => r!.report.damonWssBytes / r!.report.touchedBytes;
    expect(share(def)).toBeLessThan(0.8);
    expect(share(slow)).toBeGreaterThan(share(def) + 0.1);
    expect(sweep.text()).toContain('Why DAMON does not capture the whole touched memory');
    expect(sweep.text().split('\n')[2]).toMatch(/^default\s+5ms/);
  });
});
