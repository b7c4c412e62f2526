import fc from 'fast-check';
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

/**
 * `fc.assert` for a property whose run count `runs` came from
 * {@link fuzzRuns}: at the default scale one call, exactly as `fc.assert(p,
 * { numRuns: runs })`; under `MM_FUZZ_RUNS` the runs go in chunks of the
 * default size with a macrotask between chunks. Vitest's worker answers its
 * runner over an RPC with a fixed 60 s timeout, and a synchronous test body
 * longer than that fails the run ("Timeout calling onTaskUpdate") even when
 * every test passes; yielding lets the worker read the replies. Each chunk
 * draws its own seed when fuzzing (fast-check prints it on failure;
 * `MM_FC_SEED` replays it).
 */
export async function fuzzAssert<Ts>(property: fc.IProperty<Ts>, runs: number): Promise<void> {
  const k = Number(process.env.MM_FUZZ_RUNS ?? '1');
  const scale = Number.isFinite(k) && k > 1 ? k : 1;
  const chunk = Math.max(1, Math.ceil(runs / scale));
  for (let done = 0; done < runs; done += chunk) {
    if (done > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    fc.assert(property, { numRuns: Math.min(chunk, runs - done) });
  }
}
