import { resolve } from 'node:path';
import { z } from 'zod';

const ZBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Every environment variable the console reads. Nothing else reads process.env. */
export const ZConsoleEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port of the console'),
  HOST: z.string().default('0.0.0.0').describe('Interface to listen on'),
  DATABASE_URL: z
    .string()
    .optional()
    .describe('file:/path/to.db (SQLite) or postgresql://user:pass@host:5432/db; default: SQLite in COOLANT_DATA_DIR'),
  COOLANT_DATA_DIR: z.string().default('.coolant').describe('Data directory (SQLite file, local agent state)'),
  COOLANT_ADMIN_PASSWORD: z
    .string()
    .min(10, 'must be at least 10 characters')
    .optional()
    .describe('Password of the first admin (first run only); generated and printed once when unset'),
  COOLANT_ADMIN_TOKEN: z
    .string()
    .min(20, 'must be at least 20 characters')
    .optional()
    .describe('Guarantees an admin API token with this secret at start'),
  COOLANT_ENROLL_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .describe('Agent enrollment secret; generated and stored when unset'),
  COOLANT_LOCAL_AGENT: ZBool.default(true).describe('Start a local agent next to the console'),
  COOLANT_SECURE_COOKIES: z
    .enum(['auto', 'always', 'never'])
    .default('auto')
    .describe('Secure session cookies: auto = when the request came over https'),
  COOLANT_TRUST_PROXY: ZBool.default(false).describe(
    'Trust X-Forwarded-For / X-Forwarded-Proto / X-Forwarded-Host from a reverse proxy (client IP, https, and the host browser mutations are checked against)',
  ),
  COOLANT_NODE_OFFLINE_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(5)
    .max(86400)
    .default(120)
    .describe('A node with no report for this long is offline'),
  COOLANT_CREDENTIAL_CACHE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600)
    .default(60)
    .describe(
      'How long a Bearer token that authenticated is trusted without a database lookup (a revocation reaches every console at once; 0 looks every request up)',
    ),
  COOLANT_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://coolant.example.com' })
    .optional()
    .describe("The console's address as operators open it: alerts sent to Alertmanager and webhooks link to it"),
  COOLANT_RETENTION_RAW_HOURS: z.coerce
    .number()
    .min(0.1)
    .max(720)
    .default(2)
    .describe('Keep raw GPU samples this long'),
  COOLANT_RETENTION_ROLLUP_DAYS: z.coerce
    .number()
    .min(1)
    .max(3650)
    .default(14)
    .describe('Keep per-minute GPU rollups this long'),
});

export type TConsoleEnv = z.infer<typeof ZConsoleEnv> & { dataDir: string };

export function readEnv(source: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): TConsoleEnv {
  // An empty value (VAR= in an env file) means unset, as shells and systemd users expect.
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ZConsoleEnv.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  return { ...parsed.data, dataDir: resolve(cwd, parsed.data.COOLANT_DATA_DIR) };
}
