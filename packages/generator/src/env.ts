/**
 * The generator's environment, read here and nowhere else in the package (the project's rule:
 * only env.ts files read process.env). Read once per thread, so a worker sees what its parent saw.
 */

export type TGeneratorEnv = {
  /**
   * COOLANT_GENERATOR_WEIGHTS: another weights file instead of the committed (or embedded) one;
   * how the fleet-wide determinism check is exercised with a deliberately corrupted copy.
   */
  weightsPath: string | null;
};

export function readGeneratorEnv(source: NodeJS.ProcessEnv = process.env): TGeneratorEnv {
  // An empty value (VAR= in an env file) means unset, as in the console's env.ts.
  const weights = source.COOLANT_GENERATOR_WEIGHTS;
  return { weightsPath: weights ? weights : null };
}
