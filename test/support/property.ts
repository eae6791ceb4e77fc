/**
 * The fast-check settings of every property test in the suite. The seed is fixed, so that a run
 * of the suite (and CI) is reproducible: a property that fails fails on every run, and a red CI
 * run is never a matter of chance. To look further, set `PROPERTY_SEED` (any integer) and
 * `PROPERTY_SCALE` (a factor on the number of runs), e.g.
 * `PROPERTY_SEED=$RANDOM PROPERTY_SCALE=5 npx vitest run test/terminology/membership-agreement.test.ts`.
 * A failure prints its seed and path, which reproduce it.
 */
export const PROPERTY_SEED = Number(process.env.PROPERTY_SEED ?? 20261207);

const SCALE = Number(process.env.PROPERTY_SCALE ?? 1);

export function propertyRuns(numRuns: number): { seed: number; numRuns: number } {
  return { seed: PROPERTY_SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)) };
}
