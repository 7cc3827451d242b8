/**
 * Why the PostgreSQL client may be typed as TDb (the SQLite client's type), checked by the compiler.
 *
 * TypeScript cannot compare the two generated clients' model APIs directly: their delegates are
 * generic conditional types declared in two namespaces, which it never treats as identical. What
 * the rest of the code relies on can be compared: the same models, the same model properties, the
 * same transaction isolation levels SQLite offers, and for each model the same row (scalar) type.
 * If a schema change breaks that, this file stops compiling and names the model.
 */
import type { Prisma as PgPrisma } from '../generated/postgresql/client/client.ts';
import type { Prisma as SqlitePrisma } from '../generated/sqlite/client/client.ts';

type TEqual<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

type TSqliteModels = SqlitePrisma.TypeMap['model'];
type TPgModels = PgPrisma.TypeMap['model'];
type TScalars<M> = M extends { payload: { scalars: infer S } } ? S : never;

/** Models whose rows differ between the two clients (never when they agree). */
type TRowMismatch = {
  [N in keyof TSqliteModels]: N extends keyof TPgModels
    ? TEqual<TScalars<TSqliteModels[N]>, TScalars<TPgModels[N]>> extends true
      ? never
      : N
    : N;
}[keyof TSqliteModels];

type TChecks = {
  sameModels: TEqual<keyof TSqliteModels, keyof TPgModels>;
  sameModelProps: TEqual<SqlitePrisma.TypeMap['meta']['modelProps'], PgPrisma.TypeMap['meta']['modelProps']>;
  /** A transaction option written for SQLite is one PostgreSQL accepts. */
  isolationLevels: SqlitePrisma.TransactionIsolationLevel extends PgPrisma.TransactionIsolationLevel ? true : false;
  rows: [TRowMismatch] extends [never] ? true : TRowMismatch;
};

/** Fails to compile when any check is not `true`; the failing key (and model) is in the error. */
export const CLIENT_PARITY: TChecks = {
  sameModels: true,
  sameModelProps: true,
  isolationLevels: true,
  rows: true,
};
