import { z } from 'zod';

const emptyAsUnset = (v: unknown) => (v === '' ? undefined : v);

/** Every environment variable the CLI reads. Nothing else reads process.env. */
export const ZCliEnv = z.object({
  COOLANT_URL: z
    .preprocess(
      emptyAsUnset,
      z
        .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://localhost:3000' })
        .default('http://localhost:3000'),
    )
    .transform((u) => u.replace(/\/+$/, '')),
  COOLANT_TOKEN: z.preprocess(emptyAsUnset, z.string().trim().min(1).optional()),
});
export type TCliEnv = z.infer<typeof ZCliEnv>;

export class EnvError extends Error {
  override name = 'EnvError';
}

export function readEnv(source: Record<string, string | undefined>): TCliEnv {
  const parsed = ZCliEnv.safeParse({ COOLANT_URL: source.COOLANT_URL, COOLANT_TOKEN: source.COOLANT_TOKEN });
  if (!parsed.success)
    throw new EnvError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}
