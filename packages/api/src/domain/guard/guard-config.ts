/** The guard's config (rules, ladders, webhook) as zod schemas, its defaults, and how it is shown. */
import { z } from 'zod';
import { ZWindow } from '../admission/windows';

export const SIGNAL_KINDS = ['hot_share', 'p90_temperature', 'mean_utilization', 'offline_share'] as const;
export type TSignalKind = (typeof SIGNAL_KINDS)[number];

export const SIGNAL_LABELS: Record<TSignalKind, string> = {
  hot_share: 'share of GPUs at or above the temperature',
  p90_temperature: 'p90 GPU temperature (°C)',
  mean_utilization: 'mean GPU utilization (%)',
  offline_share: 'share of nodes offline or stale',
};

const ZTier = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _');

export const ZGuardStep = z.discriminatedUnion('action', [
  z.strictObject({ tier: ZTier, action: z.literal('pause') }),
  z.strictObject({
    tier: ZTier,
    action: z.literal('limit'),
    window: ZWindow.default('day'),
    limit: z.number().int().min(0).max(1_000_000_000),
    /** The temporary limit lapses by itself after this long if the guard never gets to undo it. */
    hours: z.number().min(0.1).max(168).default(24),
  }),
  /** Sets the tier's capacity reservation (a fraction 0..1 of C), e.g. shrinks free's share before pausing it. */
  z.strictObject({
    tier: ZTier,
    action: z.literal('reserve'),
    reserved: z
      .number({ error: 'reserved: a fraction of capacity from 0 to 1' })
      .min(0, 'reserved must be at least 0')
      .max(1, 'reserved must be at most 1 (100 %)'),
  }),
]);
export type TGuardStep = z.infer<typeof ZGuardStep>;

export const ZGuardRule = z
  .strictObject({
    id: z
      .string()
      .trim()
      .min(1)
      .max(40)
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _'),
    enabled: z.boolean().default(true),
    /** Record what it would do, change nothing. */
    dryRun: z.boolean().default(false),
    signal: z.enum(SIGNAL_KINDS),
    /** For hot_share: a GPU counts as hot at or above this temperature (its mean over the window). */
    temperatureC: z.number().min(20).max(150).default(85),
    /** Trip at or above this value for the whole trip window. */
    trip: z.number(),
    /** Clear only below this value for the whole clear window. */
    clear: z.number(),
    tripWindowSeconds: z.number().int().min(0).max(86_400).default(120),
    clearWindowSeconds: z.number().int().min(0).max(86_400).default(600),
    ladder: z.array(ZGuardStep).min(1).max(20),
  })
  .refine((r) => r.clear < r.trip, { message: 'clear must be below trip (hysteresis)', path: ['clear'] });
export type TGuardRule = z.infer<typeof ZGuardRule>;

export const ZGuardConfig = z
  .strictObject({
    intervalSeconds: z.number().min(0.5).max(3600).default(10),
    windowSeconds: z.number().int().min(1).max(3600).default(120),
    /** Newest sample older than this: ingest stalled, no data. */
    stallSeconds: z.number().int().min(1).max(3600).default(60),
    maxActionsPerHour: z.number().int().min(1).max(1000).default(6),
    operatorGraceMinutes: z.number().min(0).max(1440).default(30),
    webhook: z
      .strictObject({ url: z.url(), secret: z.string().min(8).max(200) })
      .nullable()
      .default(null),
    rules: z.array(ZGuardRule).max(10),
  })
  .refine((c) => new Set(c.rules.map((r) => r.id)).size === c.rules.length, {
    message: 'rule ids must be unique',
    path: ['rules'],
  });
export type TGuardConfig = z.infer<typeof ZGuardConfig>;
export type TGuardConfigInput = z.input<typeof ZGuardConfig>;

export const DEFAULT_GUARD_CONFIG: TGuardConfig = ZGuardConfig.parse({
  rules: [
    {
      id: 'hot-gpus',
      signal: 'hot_share',
      temperatureC: 85,
      trip: 0.5,
      clear: 0.2,
      ladder: [
        { tier: 'free', action: 'limit', window: 'day', limit: 3 },
        { tier: 'free', action: 'pause' },
        { tier: 'plus', action: 'limit', window: 'day', limit: 20 },
      ],
    },
  ],
});

/** The webhook secret never leaves the server: reads show whether one is set. */
export function redactConfig(c: TGuardConfig) {
  return { ...c, webhook: c.webhook ? { url: c.webhook.url, secret: '••••••' } : null };
}

export function describeStep(s: TGuardStep): string {
  if (s.action === 'pause') return `pause ${s.tier}`;
  if (s.action === 'reserve') return `reserve ${formatShare(s.reserved)} of capacity for ${s.tier}`;
  return `limit ${s.tier} to ${s.limit}/${s.window}`;
}

/** 0.125 → "12.5 %". */
export function formatShare(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10} %`;
}
