/**
 * The one writer of a tier's pause, of its concurrency bounds and of TemporaryLimit rows
 * (test/tier-writes-single-module.test.ts fails on any other): operators, the scheduled resume and the guard all change them through these
 * functions, inside the transaction of their config change and with the audit row in it. The kind
 * of actor (user, token, guard, system) is stored beside the name, so ownership is decided by
 * identity: a user named "guard" is an ordinary user.
 */
import type { Prisma, TDbTx } from '@coolant/db';
import { actorKind, actorName, type TChangeActor } from '../actors/actor';
import type { TWindow } from '../admission/windows';
import { recordAudit } from '../audit/record-audit';
import type { TLimitScope } from './limit-scope';

export type TTierChange = {
  tx: TDbTx;
  /** The config version this change commits in (ConfigSync.mutate hands it over). */
  version: number;
  actor: TChangeActor;
  now: Date;
  reason?: string | null | undefined;
  ip?: string | null | undefined;
  /** Merged into the audit details (the guard puts its rule, step and signal here). */
  context?: Record<string, unknown> | undefined;
  /** The audit row's time; by default the database's clock. The guard passes its own. */
  auditAt?: Date | undefined;
};

/** What a pause or resume reads of its tier: enough to decide, compare-and-set and audit it. */
export const pauseFieldsSelect = {
  id: true,
  name: true,
  pausedAt: true,
  pausedByKind: true,
  pauseReason: true,
  resumeAt: true,
} satisfies Prisma.TierSelect;
export type TPauseFields = Prisma.TierGetPayload<{ select: typeof pauseFieldsSelect }>;

/** What deciding about a temporary limit in force needs: whose it is, and what it was for the audit. */
export const tempLimitSelect = {
  id: true,
  window: true,
  scope: true,
  limit: true,
  until: true,
  createdBy: true,
  createdByKind: true,
} satisfies Prisma.TemporaryLimitSelect;
export type TTempLimitRow = Prisma.TemporaryLimitGetPayload<{ select: typeof tempLimitSelect }>;

export const concurrencySelect = { concurrencyPerTier: true, concurrencyPerSubject: true } satisfies Prisma.TierSelect;
type TConcurrencyColumns = Prisma.TierGetPayload<{ select: typeof concurrencySelect }>;

const UNPAUSED = {
  pausedAt: null,
  pausedBy: null,
  pausedByKind: null,
  pauseReason: null,
  resumeAt: null,
  pauseVersion: null,
} satisfies Prisma.TierUpdateManyMutationInput;

async function audit(req: {
  change: TTierChange;
  action: string;
  target: string;
  details: Record<string, unknown>;
}): Promise<void> {
  const { change: c, action, target, details } = req;
  await recordAudit({
    db: c.tx,
    actor: c.actor,
    action,
    target,
    reason: c.reason ?? null,
    details: { ...details, configVersion: c.version, ...c.context },
    ip: c.ip ?? null,
    ...(c.auditAt ? { at: c.auditAt } : {}),
  });
}

/** Paused now (a pause whose resumeAt has passed is over, even before the scheduler clears it). */
export function isPausedAt(req: { tier: Pick<TPauseFields, 'pausedAt' | 'resumeAt'>; now: Date }): boolean {
  const { tier, now } = req;
  return tier.pausedAt !== null && (!tier.resumeAt || tier.resumeAt > now);
}

export function pausedByGuard(tier: Pick<TPauseFields, 'pausedAt' | 'pausedByKind'>): boolean {
  return tier.pausedAt !== null && tier.pausedByKind === 'guard';
}

export function setByGuard(limit: Pick<TTempLimitRow, 'createdByKind'>): boolean {
  return limit.createdByKind === 'guard';
}

export function findActiveTemporaryLimit(req: {
  tx: TDbTx;
  tierId: string;
  window: TWindow | string;
  scope: TLimitScope;
  now: Date;
}): Promise<TTempLimitRow | null> {
  return req.tx.temporaryLimit.findFirst({
    where: { tierId: req.tierId, window: req.window, scope: req.scope, clearedAt: null, until: { gt: req.now } },
    select: tempLimitSelect,
  });
}

export function findTemporaryLimitInForce(req: { tx: TDbTx; id: string; now: Date }): Promise<TTempLimitRow | null> {
  return req.tx.temporaryLimit.findFirst({
    where: { id: req.id, clearedAt: null, until: { gt: req.now } },
    select: tempLimitSelect,
  });
}

export async function writePause(c: TTierChange & { tier: TPauseFields; resumeAt: Date | null }): Promise<void> {
  const { tier } = c;
  const before = tier.pausedAt
    ? { pausedAt: tier.pausedAt, reason: tier.pauseReason, resumeAt: tier.resumeAt }
    : { paused: false };
  await c.tx.tier.update({
    where: { id: tier.id },
    data: {
      pausedAt: c.now,
      pausedBy: actorName(c.actor),
      pausedByKind: actorKind(c.actor),
      pauseReason: c.reason ?? null,
      resumeAt: c.resumeAt,
      pauseVersion: c.version,
    },
  });
  await audit({
    change: c,
    action: 'tier.pause',
    target: tier.name,
    details: { before, after: { pausedAt: c.now, resumeAt: c.resumeAt } },
  });
}

/**
 * Ends the pause read as `tier`, if it is still that pause (compare-and-set on pausedAt) and, with
 * `due`, only once its resumeAt has passed. False when someone else changed it first.
 */
export async function writeResume(c: TTierChange & { tier: TPauseFields; due?: boolean }): Promise<boolean> {
  const { tier } = c;
  if (!tier.pausedAt) return false;
  const r = await c.tx.tier.updateMany({
    where: { id: tier.id, pausedAt: tier.pausedAt, ...(c.due ? { resumeAt: { lte: c.now } } : {}) },
    data: UNPAUSED,
  });
  if (r.count !== 1) return false;
  await audit({
    change: c,
    action: 'tier.resume',
    target: tier.name,
    details: {
      before: { pausedAt: tier.pausedAt, reason: tier.pauseReason, resumeAt: tier.resumeAt },
      after: { paused: false },
    },
  });
  return true;
}

/** A retired tier serves nobody, so a pause on it would be meaningless; its tier.update row audits the change. */
export async function clearPauseOfRetiredTier(req: { tx: TDbTx; tierId: string }): Promise<void> {
  await req.tx.tier.update({ where: { id: req.tierId }, data: UNPAUSED });
}

/** One temporary limit per (tier, window, scope): the new one replaces the one in force. */
export async function writeTemporaryLimit(
  c: TTierChange & {
    tier: { id: string; name: string };
    window: TWindow;
    scope: TLimitScope;
    limit: number;
    until: Date;
    reason: string;
  },
): Promise<{ id: string }> {
  const { tx, tier, now, window, scope, limit, until, reason } = c;
  const previous = await findActiveTemporaryLimit({ tx, tierId: tier.id, window, scope, now });
  const by = { name: actorName(c.actor), kind: actorKind(c.actor) };
  if (previous)
    await tx.temporaryLimit.update({
      where: { id: previous.id },
      data: { clearedAt: now, clearedBy: by.name, clearedByKind: by.kind },
    });
  const created = await tx.temporaryLimit.create({
    data: { tierId: tier.id, window, scope, limit, until, reason, createdBy: by.name, createdByKind: by.kind },
  });
  const base = previous
    ? null
    : await tx.tierLimit.findUnique({ where: { tierId_window_scope: { tierId: tier.id, window, scope } } });
  await audit({
    change: c,
    action: 'tier.set_temporary_limit',
    target: tier.name,
    details: {
      window: c.window,
      scope,
      before: previous ? { limit: previous.limit, until: previous.until } : { base: base?.limit ?? null },
      after: { limit: c.limit, until: c.until },
    },
  });
  return { id: created.id };
}

/** Clears the temporary limit read as `limit` if it is still in force; false when it was not. */
export async function writeClearTemporaryLimit(
  c: TTierChange & { tier: { name: string }; limit: TTempLimitRow },
): Promise<boolean> {
  const { tx, limit, now } = c;
  const r = await tx.temporaryLimit.updateMany({
    where: { id: limit.id, clearedAt: null, until: { gt: now } },
    data: { clearedAt: now, clearedBy: actorName(c.actor), clearedByKind: actorKind(c.actor) },
  });
  if (r.count !== 1) return false;
  await audit({
    change: c,
    action: 'tier.clear_temporary_limit',
    target: c.tier.name,
    details: {
      window: limit.window,
      scope: limit.scope,
      before: { limit: limit.limit, until: limit.until },
      after: null,
    },
  });
  return true;
}

export type TConcurrency = { perTier: number | null; perSubject: number | null };

/** A tier's bounds on generations in flight (null = unbounded), with its before and after audited. */
export async function writeConcurrency(
  c: TTierChange & { tier: { id: string; name: string } & TConcurrencyColumns; set: TConcurrency },
): Promise<TConcurrency> {
  const before = { perTier: c.tier.concurrencyPerTier, perSubject: c.tier.concurrencyPerSubject };
  await c.tx.tier.update({
    where: { id: c.tier.id },
    data: { concurrencyPerTier: c.set.perTier, concurrencyPerSubject: c.set.perSubject },
  });
  await audit({ change: c, action: 'tier.set_concurrency', target: c.tier.name, details: { before, after: c.set } });
  return before;
}
