export { createTestDb, TEST_PROVIDERS, type TTestDb } from './database';
export { createTestDatabase, ensurePostgres, postgresUnavailableReason } from './postgres';
