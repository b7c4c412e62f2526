/**
 * damo compatibility: formatting, the record file, and the reports, with
 * the recency histogram of the seed's auto-tuning evaluation reproduced
 * byte for byte.
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type DamoRecord,
  type DamoRegion,
  damonStart,
  damoParseRecords,
  damoRecord,
  damoReportAccess,
  damoReportWss,
  damoWriteJson,
  damoWriteJsonCompressed,
  formatNr,
  formatSz,
  formatTimeNs,
  formatTimeUs,
  pyFixed,
  textToBytes,
  textToNs,
  zlibDecompress,
} from '../src/index.js';
import { stairsCfg, standalone } from './helpers/standalone.js';

const GiB = 2 ** 30;

describe('damo formatting', () => {
  it('prints sizes, times and numbers as damo does', () => {
    expect(formatSz(1024, false)).toBe('1024 B');
    expect(formatSz(1025, false)).toBe('1.001 KiB');
    expect(formatSz(62 * GiB, false)).toBe('62.000 GiB');
    expect(formatSz(4096, true)).toBe('4096');
    expect(formatTimeNs(68865514400000, false)).toBe('19 h 7 m 45.514 s');
    expect(formatTimeNs(0, false)).toBe('0 ns');
    expect(formatTimeUs(-6886551440, false)).toBe('-6886551440000 ns');
    expect(formatTimeNs(3_400_000_000, false)).toBe('3.400 s');
    expect(formatTimeNs(120_000_000_000, false)).toBe('2 m');
    expect(formatTimeNs(125_000_000_000, false)).toBe('2 m 5 s');
    expect(formatTimeUs(700_000, false)).toBe('700 ms');
    expect(formatNr(1234567, false)).toBe('1,234,567');
    expect(formatNr(-600000000, false)).toBe('-600,000,000');
    // Python rounds exact ties to even; JS toFixed rounds them up.
    expect(pyFixed(0.0625, 3)).toBe('0.062');
    expect(pyFixed(0.0875, 3)).toBe('0.087'); // 0.08749999… in binary
    expect(pyFixed(1.0005, 3)).toBe((1.0005).toFixed(3)); // not an exact tie in binary
    expect(textToBytes('4,096')).toBe(4096);
    expect(textToBytes('1.5 GiB')).toBe(1.5 * GiB);
    expect(textToNs('1 h 3 m')).toBe(3_780_000_000_000);
  });
});

function region(
  start: number,
  size: number,
  samples: number | null,
  ageUsec: number | null,
  aggr: number | null = null,
): DamoRegion {
  return {
    start,
    end: start + size,
    nrAccesses: { samples, percent: null },
    age: { usec: ageUsec, aggrIntervals: aggr },
    szFilterPassed: 0,
  };
}

describe('damo report access', () => {
  it('reproduces the recency-sz-hist of the seed (auto-tuning evaluation, 62 GiB server)', () => {
    const sz = (g: number) => Math.round((g * GiB) / 4096) * 4096;
    let a = 0;
    const regs: DamoRegion[] = [];
    const add = (size: number, samples: number, ageUs: number) => {
      regs.push(region(a, size, samples, ageUs));
      a += size;
    };
    add(sz(6.198), 0, 68865514400); // not accessed for ~19 h
    add(sz(16.967), 0, 1140e6); // not accessed for 19 min
    add(sz(21.12), 1, 0); // accessed in the last aggregation interval
    add(sz(17.715), 2, 0);
    const rec: DamoRecord = {
      kdamondIdx: 0,
      contextIdx: 0,
      intervals: {
        sample: 300000,
        aggr: 6000000,
        opsUpdate: 1000000,
        intervalsGoal: { accessBp: 400, aggrs: 3, minSampleUs: 5000, maxSampleUs: 10000000 },
      },
      schemeIdx: 0,
      targetId: 0,
      snapshots: [{ startTime: 0, endTime: 6e9, regions: regs, totalBytes: a }],
    };
    expect(damoReportAccess([rec], { style: 'recency-sz-hist' })).toBe(
      [
        '<last accessed time (us)> <total size>',
        '[-19 h 7 m 45.514 s, -17 h 12 m 58.963 s)  6.198 GiB  |****                |',
        '[-17 h 12 m 58.963 s, -15 h 18 m 12.412 s) 0 B        |                    |',
        '[-15 h 18 m 12.412 s, -13 h 23 m 25.860 s) 0 B        |                    |',
        '[-13 h 23 m 25.860 s, -11 h 28 m 39.309 s) 0 B        |                    |',
        '[-11 h 28 m 39.309 s, -9 h 33 m 52.757 s)  0 B        |                    |',
        '[-9 h 33 m 52.757 s, -7 h 39 m 6.206 s)    0 B        |                    |',
        '[-7 h 39 m 6.206 s, -5 h 44 m 19.654 s)    0 B        |                    |',
        '[-5 h 44 m 19.654 s, -3 h 49 m 33.103 s)   0 B        |                    |',
        '[-3 h 49 m 33.103 s, -1 h 54 m 46.551 s)   0 B        |                    |',
        '[-1 h 54 m 46.551 s, -0 ns)                16.967 GiB |*********           |',
        '[-0 ns, --6886551440000 ns)                38.835 GiB |********************|',
        'memory bw estimate: 9.425 GiB per second',
        'total size: 62.000 GiB',
      ].join('\n'),
    );
  });

  it('prints the detailed style: snapshot heatmap, region lines, bandwidth and size', () => {
    const rec: DamoRecord = {
      kdamondIdx: 0,
      contextIdx: 0,
      intervals: {
        sample: 5000,
        aggr: 100000,
        opsUpdate: 1000000,
        intervalsGoal: { accessBp: 0, aggrs: 0, minSampleUs: 0, maxSampleUs: 0 },
      },
      schemeIdx: null,
      targetId: 0,
      snapshots: [
        {
          startTime: 0,
          endTime: 100e6,
          regions: [
            region(4 * GiB, 1.366 * GiB, 0, null, 34),
            region(5.366 * GiB, 8192, 20, null, 7),
            region(5.366 * GiB + 8192, 4096, 7, null, 0),
          ],
          totalBytes: 1.366 * GiB + 12288,
        },
      ],
    };
    const out = damoReportAccess([rec], { color: false }).split('\n');
    // (checked against damo's heatmap_str run on the same regions; damo v2.6 prints the
    // negative minimum as '-,340,000,000', later damo as below)
    expect(out[0]).toMatch(/^heatmap: 0{80}9$/);
    expect(out[1]).toBe('# min/max temperatures: -340,000,000, 0, column size: 17.485 MiB');
    expect(out.slice(2)).toEqual([
      '0   addr 4.000 GiB    size 1.366 GiB   access 0 %   age 3.400 s',
      '1   addr 5.366 GiB    size 8.000 KiB   access 100 % age 700 ms',
      '2   addr 5.366 GiB    size 4.000 KiB   access 35 %  age 0 ns',
      'memory bw estimate: 1.836 MiB per second',
      'total size: 1.366 GiB',
    ]);
  });
});

describe('damo record file', () => {
  it('records a run and writes the layout damo reads, json and zlib-compressed', () => {
    const s = standalone(stairsCfg(2, 4 << 20, 500));
    const rec = damoRecord(s.ctx);
    damonStart(s.damon, [s.ctx], false);
    s.machine.sched.runUntil(0.35e9);
    rec.stop();
    const records = rec.records;
    expect(records.length).toBe(1);
    const snaps = records[0]!.snapshots;
    expect(snaps.length).toBe(3);
    expect(snaps[0]!.startTime).toBe(0);
    for (let i = 1; i < snaps.length; i++) expect(snaps[i]!.startTime).toBe(snaps[i - 1]!.endTime);
    const text = damoWriteJson(records);
    const kv = JSON.parse(text);
    expect(Object.keys(kv[0])).toEqual([
      'kdamond_idx',
      'context_idx',
      'intervals',
      'scheme_idx',
      'target_id',
      'snapshots',
    ]);
    expect(kv[0].intervals).toEqual({
      sample_us: '5000',
      aggr_us: '100000',
      ops_update_us: '60000000',
      intervals_goal: { access_bp: '0', aggrs: '0', min_sample_us: '0', max_sample_us: '0' },
    });
    const r0 = kv[0].snapshots[0].regions[0];
    expect(Object.keys(r0)).toEqual(['start', 'end', 'nr_accesses', 'age', 'sz_filter_passed']);
    expect(r0.nr_accesses.percent).toBeNull();
    expect(typeof r0.start).toBe('string');
    expect(text.split('\n')[1]).toBe('    {');
    // round trips, and the compressed form is a plain zlib stream
    expect(damoParseRecords(text)).toEqual(records);
    const z = damoWriteJsonCompressed(records);
    expect(zlib.inflateSync(z).toString()).toBe(text);
    expect(damoParseRecords(new Uint8Array(zlib.deflateSync(Buffer.from(text))))).toEqual(records);
    expect(new TextDecoder().decode(zlibDecompress(z))).toBe(text);
  });

  it('reads the human-formatted numbers damo may write', () => {
    const text = JSON.stringify([
      {
        kdamond_idx: 0,
        context_idx: 0,
        intervals: { sample_us: '5 ms', aggr_us: '100 ms', ops_update_us: '1 s' },
        scheme_idx: null,
        target_id: 0,
        snapshots: [
          {
            start_time: '1,000',
            end_time: '100,001,000',
            regions: [
              {
                start: '4,096',
                end: '8,192',
                nr_accesses: { samples: 3, percent: null },
                age: { usec: null, aggr_intervals: '2' },
                sz_filter_passed: '0 B',
              },
            ],
            total_bytes: '4,096',
          },
        ],
      },
    ]);
    const [r] = damoParseRecords(text);
    expect(r!.intervals!.sample).toBe(5000);
    expect(r!.snapshots[0]!.regions[0]).toEqual(region(4096, 4096, 3, null, 2));
    expect(r!.snapshots[0]!.endTime).toBe(100001000);
  });
});

describe('damo report wss', () => {
  it('prints percentiles of the working set size', () => {
    const snaps = Array.from({ length: 30 }, (_, i) => ({
      startTime: i * 100e6,
      endTime: (i + 1) * 100e6,
      regions: [region(0, (i % 10) * 4096 + 4096, 1, null, 0), region(1 << 20, 4096, 0, null, 0)],
      totalBytes: 0,
    }));
    const rec: DamoRecord = {
      kdamondIdx: 0,
      contextIdx: 0,
      intervals: {
        sample: 5000,
        aggr: 100000,
        opsUpdate: 1000000,
        intervalsGoal: { accessBp: 0, aggrs: 0, minSampleUs: 0, maxSampleUs: 0 },
      },
      schemeIdx: null,
      targetId: 0,
      snapshots: snaps,
    };
    const out = damoReportWss([rec]).split('\n');
    expect(out[0]).toBe('# target_id\t0');
    expect(out[1]).toBe('# <percentile> <wss>');
    expect(out[2]).toBe('# avr:\t22.000 KiB');
    expect(out[3]).toBe(`  0       4.000 KiB |${'*'.repeat(5)}${' '.repeat(54)}|`);
    expect(out[7]).toBe(`100      40.000 KiB |${'*'.repeat(59)}|`);
  });
});
