/**
 * DOC: property-test run counts: `MM_FUZZ_RUNS=N` multiplies every
 * property's runs for a long fuzzing session.
 */
export function fuzzRuns(base: number): number {
  const k = Number(process.env.MM_FUZZ_RUNS ?? '1');
  return Number.isFinite(k) && k > 0 ? Math.round(base * k) : base;
}
