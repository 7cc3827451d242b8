/** Admins manage console users: each change and its audit row commit in one transaction. */
import type { Prisma, TDb, TDbTx } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { AppError } from '../../lib/app-error';
import type { TRole } from '../../lib/roles';
import { hashPassword } from '../../lib/secrets';
import { recordAudit } from '../audit/record-audit';

const userSelect = {
  id: true,
  username: true,
  role: true,
  disabledAt: true,
  createdAt: true,
} satisfies Prisma.UserSelect;
type TUserRow = Prisma.UserGetPayload<{ select: typeof userSelect }>;

function shape(u: TUserRow) {
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

export type TCreateUserRequest = {
  db: TDb;
  actor: TActor;
  username: string;
  password: string;
  role: TRole;
  ip: string | null;
};

export async function createUser(req: TCreateUserRequest) {
  const existing = await req.db.user.findUnique({ where: { username: req.username } });
  if (existing) throw new AppError('CONFLICT', `A user named "${req.username}" already exists`);
  // Hashed before the transaction: scrypt takes a while and must not hold SQLite's write lock.
  const passwordHash = await hashPassword(req.password);
  const user = await req.db.$transaction(async (tx) => {
    const created = await tx.user.create({
      data: { username: req.username, role: req.role, passwordHash },
      select: userSelect,
    });
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'user.create',
      target: created.username,
      details: { role: created.role },
      ip: req.ip,
    });
    return created;
  });
  return shape(user);
}

/** Guards against locking everyone out: the last enabled admin cannot be demoted or disabled. */
async function assertAnotherAdminRemains(req: { tx: TDbTx; userId: string }): Promise<void> {
  const admins = await req.tx.user.count({ where: { role: 'admin', disabledAt: null, id: { not: req.userId } } });
  if (admins === 0) throw new AppError('CONFLICT', 'This is the last enabled admin; promote another user first');
}

export type TUpdateUserRequest = {
  db: TDb;
  actor: TActor;
  id: string;
  role?: TRole | undefined;
  disabled?: boolean | undefined;
  password?: string | undefined;
  reason?: string | undefined;
  ip: string | null;
  now: Date;
};

export async function updateUser(req: TUpdateUserRequest) {
  const passwordHash = req.password !== undefined ? await hashPassword(req.password) : undefined;
  return req.db.$transaction((tx) => updateUserIn({ ...req, tx, passwordHash }));
}

async function updateUserIn(req: TUpdateUserRequest & { tx: TDbTx; passwordHash: string | undefined }) {
  const { tx } = req;
  const before = await tx.user.findUnique({ where: { id: req.id }, select: userSelect });
  if (!before) throw new AppError('NOT_FOUND', `No user with id ${req.id}`);
  const demotes = req.role !== undefined && req.role !== 'admin' && before.role === 'admin';
  const disables = req.disabled === true && before.role === 'admin' && before.disabledAt === null;
  if (demotes || disables) await assertAnotherAdminRemains({ tx, userId: before.id });
  const after = await tx.user.update({
    where: { id: req.id },
    data: {
      ...(req.role !== undefined ? { role: req.role } : {}),
      ...(req.disabled !== undefined ? { disabledAt: req.disabled ? (before.disabledAt ?? req.now) : null } : {}),
      ...(req.passwordHash !== undefined ? { passwordHash: req.passwordHash } : {}),
    },
    select: userSelect,
  });
  // A disabled account or a new password ends every open session of that user.
  if (req.disabled === true || req.password !== undefined) await tx.session.deleteMany({ where: { userId: after.id } });
  await recordAudit({
    db: tx,
    actor: req.actor,
    action: 'user.update',
    target: after.username,
    reason: req.reason,
    details: { before: shape(before), after: shape(after), passwordChanged: req.password !== undefined },
    ip: req.ip,
  });
  return shape(after);
}
