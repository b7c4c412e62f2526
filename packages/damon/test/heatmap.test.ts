/**
 * `damo report heatmap` on a recorded masim stairs run: the hot region moves
 * across the map phase by phase; PNG and SVG renderings of the same grid.
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  crc32,
  damoGuideInfo,
  damoHeatmapPng,
  damoHeatmapSvg,
  damoHeatmaps,
  damonStart,
  damoRecord,
  damoReportHeatmap,
} from '../src/index.js';
import { stairsCfg, standalone } from './helpers/standalone.js';

function recordStairs() {
  // five 8 MiB regions, each hot for 2 s in turn (masim lays them out top-down)
  const s = standalone(stairsCfg(5, 8 << 20, 2000));
  const rec = damoRecord(s.ctx);
  damonStart(s.damon, [s.ctx], false);
  s.machine.sched.runUntil(10e9);
  rec.stop();
  return { ...s, records: rec.records };
}

describe('damo report heatmap', () => {
  const { records, workload } = recordStairs();

  it('draws the hottest span with the hot region moving phase by phase', () => {
    const g = damoGuideInfo(records)[0]!;
    expect(g.contigRegions.length).toBeGreaterThanOrEqual(1);
    const res = damoHeatmaps(records);
    const [amin, amax] = res.addressRanges[0]!;
    // the span drawn holds the five masim regions
    expect(amin).toBeLessThanOrEqual(workload.regions[4]!.start);
    expect(amax).toBeGreaterThanOrEqual(workload.regions[0]!.start + (8 << 20));
    const text = damoReportHeatmap(records, { color: false });
    const lines = text.split('\n');
    expect(lines.length).toBe(40 + 4);
    expect(lines[40]).toMatch(/^# access_frequency: 0123456789$/);
    expect(lines[41]).toMatch(/^# x-axis: space \[[0-9.]+ TiB, [0-9.]+ TiB\) \([0-9.]+ MiB\)$/);
    // ~10 s of snapshots (the last one's time moves with the kdamond's charged CPU time)
    expect(lines[42]).toMatch(/^# y-axis: time \[-100000000 ns, 9\.9\d\d s\) \(10\.0\d\d s\)$/);
    expect(lines[43]).toMatch(/^# resolution: 80x40 \(.* and .* for each character\)$/);
    // For each row, the column of peak heat; per phase (8 rows of 40 ≈ 2 s) it must sit
    // inside that phase's hot region, and move down in address from phase to phase.
    const hm = res.heatmaps[0]!;
    const peakAddr = hm.heat.map((row) => {
      let best = -1;
      let bi = 0;
      row.forEach((h, i) => {
        if (h !== null && h > best) {
          best = h;
          bi = i;
        }
      });
      return hm.addrStart + (bi + 0.5) * hm.addrUnit;
    });
    const t0 = res.timeRange[0];
    for (let phase = 0; phase < 5; phase++) {
      const reg = workload.regions[phase]!;
      // a row in the middle of the phase
      const tMid = (phase * 2 + 1) * 1e9;
      const row = Math.floor((tMid - t0) / hm.timeUnit);
      expect(peakAddr[row]!).toBeGreaterThanOrEqual(reg.start - hm.addrUnit);
      expect(peakAddr[row]!).toBeLessThanOrEqual(reg.start + reg.sizeBytes + hm.addrUnit);
    }
  });

  it('prints raw pixels relative to the ranges', () => {
    const raw = damoReportHeatmap(records, { output: 'raw', resol: [4, 8] }).split('\n');
    expect(raw.length).toBe(32);
    expect(raw[0]).toMatch(/^0\t0\t([0-9.e+-]+|NaN)$/);
    expect(raw[31]!.split('\t').length).toBe(3);
  });

  it('renders a valid PNG and an SVG', () => {
    const png = damoHeatmapPng(records, { resol: [100, 60] });
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const dv = new DataView(png.buffer, png.byteOffset);
    // IHDR: width = time resolution, height = address resolution
    expect(dv.getUint32(16)).toBe(100);
    expect(dv.getUint32(20)).toBe(60);
    // walk the chunks, check CRCs, inflate IDAT
    let off = 8;
    let idat: Uint8Array | null = null;
    while (off < png.length) {
      const len = dv.getUint32(off);
      const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
      expect(dv.getUint32(off + 8 + len)).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
      if (type === 'IDAT') idat = png.subarray(off + 8, off + 8 + len);
      off += 12 + len;
    }
    const raw = zlib.inflateSync(idat!);
    expect(raw.length).toBe(60 * (1 + 100 * 3));
    const svg = damoHeatmapSvg(records, { resol: [100, 60] });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThan(10);
  });
});

describe('damo report heatmap against damo', () => {
  it('matches the raw pixels damo computes for the same record file', async () => {
    const { readFileSync } = await import('node:fs');
    const { damoParseRecords } = await import('../src/index.js');
    const data = new Uint8Array(readFileSync(new URL('./fixtures/stairs-3x4MiB.damon.data', import.meta.url)));
    // the expected text was produced by damo's heatmap code (damo_report_heatmap.py,
    // damo_record_info.py) on this file: `damo report heatmap --output raw --resol 24 40`
    const expected = readFileSync(new URL('./fixtures/stairs-3x4MiB.heatmap-raw-24x40.txt', import.meta.url), 'utf8');
    expect(`${damoReportHeatmap(damoParseRecords(data), { output: 'raw', resol: [24, 40] })}\n`).toBe(expected);
  });
});
