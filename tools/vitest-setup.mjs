// DOC: set-up every vitest project runs before its test files (see
// vitest-preset.mjs). The default test run is deterministic: fast-check
// starts every property from one fixed seed, so CI gives the same answer
// for the same commit. A fuzzing session (MM_FUZZ_RUNS=N) draws fresh random
// seeds, which fast-check prints on failure; MM_FC_SEED=<seed> replays one.
import fc from 'fast-check';

const seed = process.env.MM_FC_SEED;
if (seed !== undefined && seed !== '') {
  fc.configureGlobal({ seed: Number(seed) });
} else if (process.env.MM_FUZZ_RUNS === undefined || process.env.MM_FUZZ_RUNS === '') {
  fc.configureGlobal({ seed: 20261204 });
}
