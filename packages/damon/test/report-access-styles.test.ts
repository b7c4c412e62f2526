/**
 * `damo report access` styles damo added after v2.6 (simple-boxes, cold,
 * hot, recency-percentiles, temperature-percentiles) against damo itself:
 * the expected text (ANSI colours included) was printed by damo's own
 * report code (damo_report_access.py of the damo version that has these
 * styles, with its _damo_fmt_str.py and _damo_ascii_color.py) run by
 * python3 on the committed record file, as `damo report access
 * --input_file stairs-3x4MiB.damon.data --style <style> [options]` over the
 * last N snapshots (one case with an intervals goal set on the record, for
 * the `# <intervals goal>` tail). No damo code is in the repository.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type DamoAccessStyle,
  type DamoRecord,
  type DamoReportAccessOptions,
  damoParseRecords,
  damoReportAccess,
} from '../src/index.js';

interface Case {
  case: { style: DamoAccessStyle; last?: number; args?: Record<string, unknown>; goal?: Record<string, string> };
  text: string;
}

const data = new Uint8Array(readFileSync(new URL('./fixtures/stairs-3x4MiB.damon.data', import.meta.url)));
const cases = JSON.parse(
  readFileSync(new URL('./fixtures/stairs-3x4MiB.report-access-styles.json', import.meta.url), 'utf8'),
) as Case[];

function options(c: Case['case']): DamoReportAccessOptions {
  const a = c.args ?? {};
  return {
    style: c.style,
    ...(a.percentiles_range !== undefined ? { percentilesRange: a.percentiles_range as number[] } : {}),
    ...(a.raw_number !== undefined ? { rawNumber: a.raw_number as boolean } : {}),
    ...(a.temperature_weights !== undefined
      ? { temperatureWeights: a.temperature_weights as [number, number, number] }
      : {}),
  };
}

describe('damo report access styles against damo', () => {
  it.each(cases.map((c) => [JSON.stringify(c.case), c] as const))('%s', (_name, c) => {
    const g = c.case.goal;
    const records: DamoRecord[] = damoParseRecords(data).map((r) => ({
      ...r,
      intervals:
        g === undefined || r.intervals === null
          ? r.intervals
          : {
              ...r.intervals,
              intervalsGoal: {
                accessBp: Number(g.access_bp),
                aggrs: Number(g.aggrs),
                minSampleUs: Number(g.min_sample_us),
                maxSampleUs: Number(g.max_sample_us),
              },
            },
      snapshots: c.case.last === undefined ? r.snapshots : r.snapshots.slice(-c.case.last),
    }));
    expect(damoReportAccess(records, options(c.case))).toBe(c.text);
  });

  it('covers every style damo added after v2.6', () => {
    const styles = new Set(cases.map((c) => c.case.style));
    expect([...styles].sort()).toEqual([
      'cold',
      'hot',
      'recency-percentiles',
      'simple-boxes',
      'temperature-percentiles',
    ]);
  });
});
