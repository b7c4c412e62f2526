/**
 * DOC: property-test run counts. The default run stays short; `MM_FUZZ_RUNS=k`
 * multiplies every property's run count for long fuzzing (the per-test
 * timeout of tools/vitest-preset.mjs scales with it):
 * `MM_FUZZ_RUNS=100 node tools/pnpm.mjs exec vitest run --project swap-alloc`.
 */
import fc from 'fast-check';

/** `base` runs times MM_FUZZ_RUNS (default 1). */
export function fuzzRuns(base: number): number {
  const k = Number(process.env.MM_FUZZ_RUNS ?? '1');
  return Number.isFinite(k) && k > 0 ? Math.max(1, Math.round(base * k)) : base;
}

/**
 * `fc.assert` over `fuzzRuns(base)` runs, in chunks of `base` runs with a
 * pause for the event loop between them: vitest's worker reports progress
 * to the main process over an RPC channel whose calls time out after 60 s,
 * which a test that blocks the loop for minutes (a long fuzzing run) trips.
 * Each chunk draws its own seed; fast-check prints it with the shrunk
 * counterexample on failure.
 */
export async function assertInChunks<Ts>(
  property: fc.IProperty<Ts>,
  base: number,
  params: fc.Parameters<Ts> = {},
): Promise<void> {
  const total = fuzzRuns(base);
  for (let done = 0; done < total; done += base) {
    fc.assert(property, { ...params, numRuns: Math.min(base, total - done) });
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
