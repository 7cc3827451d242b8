import type { TGenerateRequest } from './validate';

/**
 * Requests whose pictures are pinned by test/golden.json: defaults, greedy, hot sampling,
 * every top-k, partial cells, wrapping and the extreme seeds.
 */
export const GOLDEN_REQUESTS: TGenerateRequest[] = [
  { prompt: 'OK', seed: 1 },
  { prompt: 'COOLANT', seed: 2024 },
  { prompt: 'HELLO WORLD!', seed: 4_294_967_295 },
  { prompt: 'A1', seed: 0, temperature: 0, topK: 1 },
  { prompt: '■□●○▲', seed: 7, temperature: 1, topK: 3 },
  { prompt: '#+-./:=?*', seed: 31_337, temperature: 1.5, topK: 2 },
  { prompt: 'GPU 0', seed: 123, width: 100, height: 50 },
  { prompt: 'SMOKE TEST 0123456789', seed: 8, width: 140, height: 54, temperature: 0.35 },
];
