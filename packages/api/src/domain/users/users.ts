import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { AppError } from '../../lib/app-error';
import type { TRole } from '../../lib/roles';
import { hashPassword } from '../../lib/secrets';
import { recordAudit } from '../audit/record-audit';

const userSelect = { id: true, username: true, role: true, disabledAt: true, createdAt: true } as const;

function shape(u: { id: string; username: string; role: string; disabledAt: Date | null; createdAt: Date }) {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    disabled: u.disabledAt !== null,
    createdAt: u.createdAt.toISOString(),
  };
}

export async function listUsers(req: { db: TDb }) {
  const rows = await req.db.user.findMany({ orderBy: { username: 'asc' }, select: userSelect });
  return rows.map(shape);
}

export async function createUser(req: {
  db: TDb;
  actor: TActor;
  username: string;
  password: string;
  role: TRole;
  ip: string | null;
}) {
  const existing = await req.db.user.findUnique({ where: { username: req.username } });
  if (existing) throw new AppError('CONFLICT', `A user named "${req.username}" already exists`);
  const user = await req.db.user.create({
    data: { username: req.username, role: req.role, passwordHash: await hashPassword(req.password) },
    select: userSelect,
  });
  await recordAudit({
    db: req.db,
    actor: req.actor,
    action: 'user.create',
    target: user.username,
    details: { role: user.role },
    ip: req.ip,
  });
  return shape(user);
}

/** Guards against locking everyone out: the last enabled admin cannot be demoted or disabled. */
async function assertAnotherAdminRemains(db: TDb, userId: string): Promise<void> {
  const admins = await db.user.count({ where: { role: 'admin', disabledAt: null, id: { not: userId } } });
  if (admins === 0) throw new AppError('CONFLICT', 'This is the last enabled admin; promote another user first');
}

export async function updateUser(req: {
  db: TDb;
  actor: TActor;
  id: string;
  role?: TRole | undefined;
  disabled?: boolean | undefined;
  password?: string | undefined;
  reason?: string | undefined;
  ip: string | null;
  now: Date;
}) {
  const before = await req.db.user.findUnique({ where: { id: req.id }, select: userSelect });
  if (!before) throw new AppError('NOT_FOUND', `No user with id ${req.id}`);
  const demotes = req.role !== undefined && req.role !== 'admin' && before.role === 'admin';
  const disables = req.disabled === true && before.role === 'admin' && before.disabledAt === null;
  if (demotes || disables) await assertAnotherAdminRemains(req.db, before.id);
  const after = await req.db.user.update({
    where: { id: req.id },
    data: {
      ...(req.role !== undefined ? { role: req.role } : {}),
      ...(req.disabled !== undefined ? { disabledAt: req.disabled ? (before.disabledAt ?? req.now) : null } : {}),
      ...(req.password !== undefined ? { passwordHash: await hashPassword(req.password) } : {}),
    },
    select: userSelect,
  });
  // A disabled account or a new password ends every open session of that user.
  if (req.disabled === true || req.password !== undefined)
    await req.db.session.deleteMany({ where: { userId: after.id } });
  await recordAudit({
    db: req.db,
    actor: req.actor,
    action: 'user.update',
    target: after.username,
    reason: req.reason,
    details: { before: shape(before), after: shape(after), passwordChanged: req.password !== undefined },
    ip: req.ip,
  });
  return shape(after);
}
