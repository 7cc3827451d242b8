/** First-run set-up (admin, env token, enrollment secret) and the enrollment secret's rotation. */
import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { newPassword, newSecret, sha256 } from '../../lib/secrets';
import { hashPassword } from '../../lib/secrets';
import { createOnce, isUniqueViolation } from '../../lib/unique-violation';
import { recordAudit } from '../audit/record-audit';

const system = { kind: 'system', name: 'system' } as const;

/**
 * First run: if no enabled admin exists, create `admin` with the given password
 * or a generated one. Returns the generated password so the caller prints it
 * exactly once.
 */
export async function ensureAdmin(req: {
  db: TDb;
  password?: string | undefined;
}): Promise<{ created: boolean; username: string; generatedPassword: string | null }> {
  const admin = await req.db.user.findFirst({ where: { role: 'admin', disabledAt: null } });
  if (admin) return { created: false, username: admin.username, generatedPassword: null };
  const generated = req.password ? null : newPassword();
  const password = req.password ?? generated!;
  const username = (await req.db.user.findUnique({ where: { username: 'admin' } })) ? `admin-${Date.now()}` : 'admin';
  const passwordHash = await hashPassword(password);
  try {
    // The admin and its audit row commit together.
    await req.db.$transaction(async (tx) => {
      await tx.user.create({ data: { username, role: 'admin', passwordHash } });
      await recordAudit({
        db: tx,
        actor: system,
        action: 'user.create',
        target: username,
        reason: 'first run: no admin existed',
        details: { role: 'admin' },
      });
    });
  } catch (error) {
    // Two consoles starting together on one fresh database: the other one created it.
    if (isUniqueViolation(error)) return { created: false, username, generatedPassword: null };
    throw error;
  }
  return { created: true, username, generatedPassword: generated };
}

export type TEnvAdminToken = 'created' | 'present' | 'revoked';

/**
 * COOLANT_ADMIN_TOKEN: guarantees an admin API token with exactly that secret,
 * unless an admin revoked it. A revocation is a decision (a leaked secret, an
 * automation retired) that a restart must not undo: the token stays revoked and
 * the caller warns that the variable names a revoked token.
 */
export async function ensureEnvAdminToken(req: { db: TDb; secret: string }): Promise<TEnvAdminToken> {
  const tokenHash = sha256(req.secret);
  const existing = await req.db.apiToken.findUnique({ where: { tokenHash } });
  if (existing?.revokedAt) return 'revoked';
  if (existing) {
    if (existing.role !== 'admin')
      await req.db.apiToken.update({ where: { id: existing.id }, data: { role: 'admin', fromEnv: true } });
    return 'present';
  }
  try {
    // The token and its audit row commit together.
    await req.db.$transaction(async (tx) => {
      await tx.apiToken.create({
        data: {
          name: 'COOLANT_ADMIN_TOKEN',
          role: 'admin',
          tokenHash,
          prefix: req.secret.slice(0, 7),
          createdBy: 'system',
          fromEnv: true,
        },
      });
      await recordAudit({
        db: tx,
        actor: system,
        action: 'token.create',
        target: 'COOLANT_ADMIN_TOKEN',
        reason: 'guaranteed by COOLANT_ADMIN_TOKEN at start',
      });
    });
  } catch (error) {
    // Two instances starting together on one database: the other one created it.
    if (isUniqueViolation(error)) return 'present';
    throw error;
  }
  return 'created';
}

const ENROLL_KEY = 'enrollment.secret';

/** The enrollment secret: COOLANT_ENROLL_TOKEN when set, else generated once and stored. */
export async function ensureEnrollmentSecret(req: { db: TDb; fromEnv?: string | undefined }): Promise<string> {
  if (req.fromEnv) return req.fromEnv;
  const existing = await req.db.setting.findUnique({ where: { key: ENROLL_KEY } });
  if (existing) return existing.value;
  const secret = newSecret('ce', 24);
  // Two instances starting together (or a burst of first enrollments) end up with one secret.
  await createOnce(() => req.db.setting.create({ data: { key: ENROLL_KEY, value: secret } }));
  const stored = await req.db.setting.findUniqueOrThrow({ where: { key: ENROLL_KEY } });
  return stored.value;
}

export type TRotateEnrollmentRequest = { db: TDb; actor: TActor; ip: string | null };

/** A new enrollment secret and its audit row, in one transaction: a rotation is never unrecorded. */
export async function rotateEnrollmentSecret(req: TRotateEnrollmentRequest): Promise<string> {
  const secret = newSecret('ce', 24);
  await req.db.$transaction(async (tx) => {
    await tx.setting.upsert({
      where: { key: ENROLL_KEY },
      create: { key: ENROLL_KEY, value: secret },
      update: { value: secret },
    });
    await recordAudit({ db: tx, actor: req.actor, action: 'enrollment.rotate', ip: req.ip });
  });
  return secret;
}
