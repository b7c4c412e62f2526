/**
 * DOC: property-test run counts. The default run stays short; set
 * `MM_FUZZ_RUNS` to multiply every property's run count for long fuzzing:
 * `MM_FUZZ_RUNS=100 node tools/pnpm.mjs exec vitest run packages/machine --testTimeout=0`.
 */
export function fuzzRuns(base: number): number {
  const k = Number(process.env.MM_FUZZ_RUNS ?? '1');
  return Number.isFinite(k) && k > 0 ? Math.round(base * k) : base;
}

/**
 * A per-test timeout for a property test whose runs `fuzzRuns` scales:
 * `base` ms at the default run count, growing with `MM_FUZZ_RUNS`.
 */
export function fuzzTimeout(base: number): number {
  const k = Number(process.env.MM_FUZZ_RUNS ?? '1');
  return Number.isFinite(k) && k > 1 ? Math.round(base * k) : base;
}
