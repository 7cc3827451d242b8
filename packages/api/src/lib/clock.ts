/**
 * The wall clock of the hot paths. Next's server replaces the global Date
 * with a wrapper that asks two AsyncLocalStorages on every `new Date()` and
 * `Date.now()` (node-environment-extensions/date.js, for prerendering) - 2%
 * of an admission decision's CPU under load. It installs that wrapper when
 * its server code loads (app.prepare()), after this module is evaluated, so
 * the constructor captured here is the engine's own. Instances are the same
 * kind of Date either way (one prototype).
 */
const NativeDate = globalThis.Date;

export function systemNow(): Date {
  return new NativeDate();
}

export const nowMs: () => number = NativeDate.now;

/** `new Date(ms)` without the wrapper's extra call. */
export function dateAt(ms: number): Date {
  return new NativeDate(ms);
}
