/**
 * The Capacity page's types (from the router) and the client-side checks of its inline edits,
 * mirroring ZConfigureCapacity (packages/api domain/capacity/capacity-config.ts) so an admin learns
 * what is wrong before a round trip; the server checks again and its message is shown when it refuses.
 */
import type { AppRouter } from '@coolant/api/client';
import type { inferRouterOutputs } from '@trpc/server';
import type { TChecked } from './tier-input';

type TOutputs = inferRouterOutputs<AppRouter>['capacity'];
export type TCapacity = TOutputs['get'];
export type TCapacityTier = TCapacity['tiers'][number];
export type TCapacityHistory = TOutputs['history'];

export const CAPACITY_REFETCH_MS = 3_000;
export const HISTORY_MINUTES = 60;

/** "12", "12 %", "12.5%" → 0.125; whole hundredths of a percent at most, so 0.1 + 0.2 stays 0.3. */
export function checkPercent(raw: string, field: string): TChecked<number> {
  const text = raw.trim().replace(/\s*%$/, '');
  if (!text) return { ok: false, error: `${field}: is required (0 to 100 %)` };
  if (!/^\d+(\.\d{1,2})?$/.test(text)) return { ok: false, error: `${field}: a number of percent, like 12 or 12.5` };
  const pct = Number(text);
  if (pct > 100) return { ok: false, error: `${field}: at most 100 %` };
  return { ok: true, value: Math.round(pct * 100) / 10_000 };
}

export function checkPriority(raw: string, field: string): TChecked<number> {
  const text = raw.trim();
  if (!/^\d+$/.test(text)) return { ok: false, error: `${field}: a whole number from 0 to 1000` };
  const n = Number(text);
  if (n > 1000) return { ok: false, error: `${field}: at most 1000` };
  return { ok: true, value: n };
}

/** 0.125 → "12.5 %". */
export function percent(fraction: number): string {
  return `${(Math.round(fraction * 10_000) / 100).toLocaleString('en-US')} %`;
}

/** 7.5 → "7.5"; slots are halves where GPUs are hot. */
export function slotsText(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
