/**
 * The inventory child (systeminformation's graphics()) must start both as TypeScript (the agent
 * runs under tsx in development; vitest runs the sources) and as compiled JavaScript (a built or
 * bundled agent).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createCollector, ZCollectedSample, type TCollectorOptions } from '../src/index.ts';
import { defaultWorkerLaunch, workerLaunchFor } from '../src/si-worker-client.ts';
import { createFakeHost } from './fakes/fake-host.ts';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
// Inside the package (under its git-ignored node_modules) so the compiled worker resolves
// systeminformation the way a real build would.
const COMPILED = path.join(SRC, '..', 'node_modules', '.cache', `telemetry-compiled-worker-${process.pid}`);
const WORKER_FILES = ['si-worker', 'collector-child'];
const compiledImports = new Map<string, string[]>();

beforeAll(async () => {
  await mkdir(COMPILED, { recursive: true });
  await writeFile(path.join(COMPILED, 'package.json'), '{ "type": "module" }');
  // What tsc emits with rewriteRelativeImportExtensions: the .ts specifiers become .js.
  for (const name of WORKER_FILES) {
    const source = await readFile(path.join(SRC, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        rewriteRelativeImportExtensions: true,
      },
    });
    compiledImports.set(
      name,
      [...outputText.matchAll(/from ["'](\.[^"']+)["']/g)].map((m) => m[1] ?? ''),
    );
    await writeFile(path.join(COMPILED, `${name}.js`), outputText);
  }
});
afterAll(() => rm(COMPILED, { recursive: true, force: true }));

/** One collection on a fake L40S host (with lspci, so the inventory child runs), through the given launch. */
async function collectWith(workerLaunch: TCollectorOptions['workerLaunch']) {
  const host = await createFakeHost({ fixture: 'l40s' });
  const collector = createCollector({ env: host.env, workerLaunch });
  try {
    return await collector.collect({ timeoutMs: 20_000 });
  } finally {
    await collector.close();
    await host.cleanup();
  }
}

test('from sources, the worker is the .ts file started with the tsx loader', () => {
  const launch = defaultWorkerLaunch();
  expect(launch.entry).toBe(path.join(SRC, 'si-worker.ts'));
  expect(launch.execArgv).toEqual(['--import', expect.stringMatching(/^file:\/\/.*\/tsx\/dist\/loader\.mjs$/)]);
  expect(workerLaunchFor('/opt/agent/dist/si-worker.js')).toEqual({
    entry: '/opt/agent/dist/si-worker.js',
    execArgv: [],
  });
});

test('under the tsx CLI (how the agent runs in development) the inventory child starts and collects', async () => {
  const host = await createFakeHost({ fixture: 'h200-recording' });
  try {
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    const script = path.join(SRC, '..', 'test', 'fakes', 'print-sample.ts');
    const { stdout } = await promisify(execFile)(process.execPath, [tsxCli, script], { env: host.env });
    const sample = ZCollectedSample.parse(JSON.parse(stdout));
    expect(sample.health.hostMetrics.status).toBe('ok');
    expect(sample.health.inventory).toMatchObject({ status: 'ok', nvidiaControllers: 1 });
    expect(sample.gpus[0]?.name).toBe('NVIDIA H200');
  } finally {
    await host.cleanup();
  }
});

test('compiled to JavaScript, the inventory child runs under plain node and collects', async () => {
  // Type-only imports are erased: the two files need nothing else from the package.
  expect(Object.fromEntries(compiledImports)).toEqual({ 'si-worker': ['./collector-child.js'], 'collector-child': [] });
  const sample = await collectWith(workerLaunchFor(path.join(COMPILED, 'si-worker.js')));
  expect(sample.health.inventory).toMatchObject({ status: 'ok', nvidiaControllers: 1 });
  expect(sample.health.errors).toEqual([]);
});

test('a launch can add env for the worker (a packaged agent forking itself in its collector role)', async () => {
  // Stand-in for the packaged agent: one file that serves as collector only when told to.
  const entry = path.join(COMPILED, 'role-entry.mjs');
  const child = JSON.stringify(path.join(COMPILED, 'collector-child.js'));
  await writeFile(
    entry,
    `if (process.env.ROLE === 'collector') (await import(${child})).runCollectorChild();\nelse process.exit(3);\n`,
  );
  expect((await collectWith({ entry, execArgv: [], env: { ROLE: 'collector' } })).health.inventory.status).toBe('ok');
  expect((await collectWith({ entry, execArgv: [] })).health.inventory).toMatchObject({
    status: 'failed',
    message: 'inventory child exited (code 3) without an answer',
  });
});

test('an inventory child that cannot start is reported in health, not thrown', async () => {
  const sample = await collectWith(workerLaunchFor(path.join(COMPILED, 'does-not-exist.js')));
  expect(sample.health.inventory).toMatchObject({
    status: 'failed',
    message: expect.stringMatching(/^inventory child exited \(code 1\) without an answer: .*Cannot find module/s),
  });
  // Host metrics and nvidia-smi do not depend on the child.
  expect(sample.health.hostMetrics.status).toBe('ok');
  expect(sample.gpus).toHaveLength(1);
});
