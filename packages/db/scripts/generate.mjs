// Generates the Prisma clients (one per provider) from the single schema in
// /prisma/schema.prisma. `prisma generate` never runs the schema engine, but the
// CLI insists on locating one and would download it; pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file keeps the install offline.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(pkgDir, '../..');
const source = readFileSync(join(root, 'prisma/schema.prisma'), 'utf8');
const outRoot = join(pkgDir, 'generated');
const cli = join(pkgDir, 'node_modules/prisma/build/index.js');
const cliPath = existsSync(cli) ? cli : join(root, 'node_modules/prisma/build/index.js');

for (const provider of ['sqlite', 'postgresql']) {
  const dir = join(outRoot, provider);
  mkdirSync(dir, { recursive: true });
  const schema = source
    .replace(/provider\s*=\s*"sqlite"/, `provider = "${provider}"`)
    .replace(/output\s*=\s*"[^"]*"/, `output = "${join(dir, 'client').replaceAll('\\', '/')}"`);
  const schemaPath = join(dir, 'schema.prisma');
  writeFileSync(schemaPath, schema);
  execFileSync(process.execPath, [cliPath, 'generate', '--schema', schemaPath], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  });
}
console.log('@coolant/db: generated Prisma clients for sqlite and postgresql');
