import { z } from 'zod';

/** Fixed windows aligned to UTC: a minute window starts at :00, an hour at HH:00, a day at 00:00 UTC. */
export const WINDOWS = ['minute', 'hour', 'day'] as const;
export const ZWindow = z.enum(WINDOWS);
export type TWindow = z.infer<typeof ZWindow>;

export const WINDOW_MINUTES: Record<TWindow, number> = { minute: 1, hour: 60, day: 1440 };

export function isWindow(v: string): v is TWindow {
  return (WINDOWS as readonly string[]).includes(v);
}

/** Start of the window containing `nowMs`, in minutes since the epoch. */
export function windowStartMin(window: TWindow, nowMs: number): number {
  const m = Math.floor(nowMs / 60_000);
  return m - (m % WINDOW_MINUTES[window]);
}

/** When the window that starts at `startMin` resets (its end), in ms since the epoch. */
export function windowResetMs(window: TWindow, startMin: number): number {
  return (startMin + WINDOW_MINUTES[window]) * 60_000;
}
