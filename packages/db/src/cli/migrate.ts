import { resolve } from 'node:path';
import { describeDb, resolveDbConfig } from '../config';
import { applyMigrations } from '../migrate';

// Entry point of `npm run db:migrate`: the same migrations `npm start` applies.
const root = resolve(import.meta.dirname, '../../../..');
const config = resolveDbConfig({
  databaseUrl: process.env.DATABASE_URL,
  dataDir: resolve(root, process.env.COOLANT_DATA_DIR ?? '.coolant'),
});
const applied = await applyMigrations(config);
console.log(`${describeDb(config)}: ${applied.length ? `applied ${applied.join(', ')}` : 'already up to date'}`);
