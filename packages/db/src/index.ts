export { resolveDbConfig, describeDb, DbConfigError, type TDbConfig, type TDbProvider } from './config';
export { getDb, closeDb, createPrismaClient, tuneSqlite, type TDb, type TDbTx } from './client';
export { createNotifier, type TNotifier } from './notify';
export type { Prisma } from '../generated/sqlite/client/client.ts';
export {
  openRawSql,
  sqliteDate,
  SqliteBusyError,
  toPgPlaceholders,
  withBusyRetry,
  type TPgRaw,
  type TSqliteRaw,
  type TSqliteTx,
  type TRawStatement,
  type TPgQuery,
  type TRawRow,
} from './raw';
