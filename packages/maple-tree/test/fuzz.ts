/**
 * DOC: property-test run counts. The default run stays short; `MM_FUZZ_RUNS=k`
 * multiplies every property's run count for long fuzzing (the per-test
 * timeout of tools/vitest-preset.mjs scales with it):
 * `MM_FUZZ_RUNS=100 node tools/pnpm.mjs exec vitest run --project maple-tree`.
 */
export function fuzzRuns(base: number): number {
  const k = Number(process.env.MM_FUZZ_RUNS ?? '1');
  return Number.isFinite(k) && k > 0 ? Math.max(1, Math.round(base * k)) : base;
}
