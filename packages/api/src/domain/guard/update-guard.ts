/** An admin replaces the guard's config (rules, ladder, webhook), compare-and-set on its version. */
import { AppError } from '../../lib/app-error';
import { actorName } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import { ZHttpUrl } from '../notifications/notification-config';
import { redactConfig, ZGuardConfig } from './guard-config';
import type { TGuardRequest } from './guard-request';
import { loadGuard } from './guard-state';

export async function updateGuard(req: TGuardRequest & { config: Record<string, unknown> }) {
  const before = await loadGuard(req.db);
  const input = { ...req.config };
  // The page sends back the redacted secret when it was not changed: keep the stored one.
  const hook = input.webhook;
  if (hook && typeof hook === 'object' && 'secret' in hook && hook.secret === '••••••') {
    if (!before.config.webhook) throw new AppError('BAD_REQUEST', 'webhook.secret: set a secret');
    input.webhook = { ...hook, secret: before.config.webhook.secret };
  }
  const parsed = ZGuardConfig.safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'BAD_REQUEST',
      parsed.error.issues.map((i) => `config.${i.path.join('.')}: ${i.message}`).join('; '),
    );
  const config = parsed.data;
  // Checked here, not in ZGuardConfig: a stored config from before this check must still load.
  const url = config.webhook ? ZHttpUrl.safeParse(config.webhook.url) : null;
  if (url && !url.success) throw new AppError('BAD_REQUEST', `config.webhook.url: ${url.error.issues[0]!.message}`);
  // A rule that has shed something cannot disappear: nothing would ever undo its steps.
  for (const [id, rt] of Object.entries(before.runtime.rules)) {
    const applied = rt.steps.filter((s) => s.status === 'applied');
    if (applied.length && !config.rules.some((r) => r.id === id)) {
      throw new AppError(
        'CONFLICT',
        `rules: rule "${id}" has shed load (${applied.map((s) => `${s.action} ${s.tier}`).join(', ')}); disarm the guard (which restores it) or let it clear before removing the rule`,
      );
    }
  }
  const version = before.configVersion + 1;
  await req.db.$transaction(async (tx) => {
    const r = await tx.guardState.updateMany({
      where: { id: 1, configVersion: before.configVersion },
      data: { config: JSON.stringify(config), configVersion: version, updatedBy: actorName(req.actor) },
    });
    if (r.count !== 1) throw new AppError('CONFLICT', 'the guard config changed meanwhile; reload and try again');
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'guard.update',
      target: 'guard',
      reason: req.reason,
      details: { before: redactConfig(before.config), after: redactConfig(config), guardConfigVersion: version },
      ip: req.ip ?? null,
    });
  });
  return { configVersion: version, config: redactConfig(config) };
}
