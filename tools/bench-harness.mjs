// DOC: the benchmark harness every package's bench/*.bench.ts uses.
//
// A bench file creates a suite, adds timed cases (tinybench) and plain
// figures (bytes, ratios, counts), and calls run(). Figures are printed as a
// table and appended to the file named by MM_BENCH_OUT, which tools/bench.mjs
// merges into bench-results/<package>.json. Run one file alone with
//   node --conditions=@mm/source --import tsx packages/<pkg>/bench/<file>.bench.ts
import { appendFileSync } from 'node:fs';
import { Bench } from 'tinybench';

/**
 * @typedef {{ name: string, value: number, unit: string, reference?: string, ratio?: number }} BenchResult
 */

export class BenchSuite {
  /** @param {string} title  @param {{ time?: number, warmupTime?: number }} [opts] */
  constructor(title, opts = {}) {
    this.title = title;
    this.timeMs = opts.time ?? Number(process.env.MM_BENCH_TIME ?? 500);
    this.warmupTime = opts.warmupTime ?? 100;
    /** @type {BenchResult[]} */
    this.results = [];
  }

  /**
   * Time `fn` (one call = `opsPerCall` operations) and record ns/op and ops/s.
   * @param {string} name
   * @param {() => unknown} fn
   * @param {{ opsPerCall?: number, setup?: () => void }} [opts]
   * @returns {Promise<{ nsPerOp: number, opsPerSec: number }>}
   */
  async time(name, fn, opts = {}) {
    const opsPerCall = opts.opsPerCall ?? 1;
    const bench = new Bench({ time: this.timeMs, warmupTime: this.warmupTime, throws: true });
    opts.setup?.();
    bench.add(name, fn);
    await bench.run();
    const task = bench.tasks[0];
    const r = task?.result;
    if (r?.state !== 'completed') throw new Error(`bench: ${name} did not complete`);
    const nsPerCall = r.latency.p50 * 1e6;
    const nsPerOp = nsPerCall / opsPerCall;
    const opsPerSec = 1e9 / nsPerOp;
    return { nsPerOp, opsPerSec };
  }

  /** @param {BenchResult} result */
  record(result) {
    this.results.push(result);
    return result;
  }

  /** Print the table and hand the figures to the runner. */
  finish() {
    printTable(this.title, this.results);
    const out = process.env.MM_BENCH_OUT;
    if (out) appendFileSync(out, this.results.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}

/** @param {number} v */
export function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** @param {string} title @param {BenchResult[]} results */
export function printTable(title, results) {
  const rows = results.map((r) => [
    r.name,
    fmt(r.value),
    r.unit,
    r.reference ?? '',
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
  ]);
  const head = ['name', 'value', 'unit', 'reference', 'ratio'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 1 || i === 4 ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const row of rows) console.log(line(row));
}
