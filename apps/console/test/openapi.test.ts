/**
 * The OpenAPI contract (issue 14) against a real console: the served document
 * is valid OpenAPI 3.1 (an independent validator), lists every procedure of
 * the router with the schema the procedure validates with, and a client
 * generated from it by openapi-typescript type-checks with tsc and calls the
 * console over plain HTTP: a node enrolls, the gateway consumes, fleet.list
 * shows the node, an unauthenticated call reads tRPC's error as typed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { appRouter, ZConsumeRequest } from '@coolant/api';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { AnyRouter } from '@trpc/server';
import ts from 'typescript';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { z } from 'zod';
import { gatewayToken } from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const ENROLL = 'openapi-test-enroll-secret-01234';

type TOperation = { operationId: string; 'x-coolant-access': string; [key: string]: unknown };
type TDocument = {
  openapi: string;
  paths: Record<string, Record<string, TOperation>>;
  components: { schemas: Record<string, unknown> };
};

let c: TConsoleProcess;
let doc: TDocument;
let text: string;
// Under the console's node_modules so the generated program resolves openapi-fetch as any project would.
const cacheDir = resolve(import.meta.dirname, '../node_modules/.cache');
let dir: string;

beforeAll(async () => {
  c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
  const res = await fetch(`${c.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  text = await res.text();
  doc = JSON.parse(text) as TDocument;
  mkdirSync(cacheDir, { recursive: true });
  dir = mkdtempSync(join(cacheDir, 'openapi-client-'));
});

afterAll(async () => {
  await c?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('GET /api/openapi.json is valid OpenAPI 3.1 and lists every procedure of the router, schemas from its zod', async () => {
  const validator = new Validator();
  const result = await validator.validate(doc as Parameters<Validator['validate']>[0]);
  expect(result.errors).toBeUndefined();
  expect(result.valid).toBe(true);
  expect(validator.version).toBe('3.1');

  const documented = new Map<string, { route: string; method: string; op: TOperation }>();
  for (const [route, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) documented.set(op.operationId, { route, method, op });
  // At run time _def.procedures is flat (`admission.consume`), whatever the router's static type says.
  const router: AnyRouter = appRouter;
  const procedures: Record<string, { _def: { type: string; meta?: { access?: string } } }> = router._def.procedures;
  for (const [path, { _def }] of Object.entries(procedures)) {
    const d = documented.get(path);
    expect(d, `${path} is missing from /api/openapi.json`).toBeDefined();
    expect(d!.route).toBe(`/api/trpc/${path}`);
    expect(d!.method, path).toBe(_def.type === 'query' ? 'get' : 'post');
    expect(d!.op['x-coolant-access'], path).toBe(_def.meta?.access);
  }
  expect(documented.size).toBe(Object.keys(procedures).length);
  expect(Object.keys(procedures)).toEqual(expect.arrayContaining(['admission.consume', 'fleet.list', 'agent.report']));

  // The very schema the procedure validates with, as a client sends it.
  const { $schema: _dialect, ...consume } = z.toJSONSchema(ZConsumeRequest, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  });
  expect(doc.components.schemas.AdmissionConsumeInput).toEqual(consume);
  const op = doc.paths['/api/trpc/admission.consume']!.post!;
  expect(op.security).toEqual([{ gatewayToken: [] }, { apiToken: [] }, { session: [] }]);
  expect(Object.keys(op.responses as object)).toEqual(
    expect.arrayContaining(['200', '400', '401', '403', '413', '415', '429', '503']),
  );
  expect(JSON.stringify((op.responses as Record<string, unknown>)['413'])).toContain('16384 bytes');
});

const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';

type TConsumeInput = components['schemas']['AdmissionConsumeInput'];
type TFleetListInput = components['schemas']['FleetListInput'];
type TEnrollInput = components['schemas']['AgentEnrollInput'];

const [baseUrl, gateway, admin, enrollToken] = process.argv.slice(2) as [string, string, string, string];
const client = createClient<paths>({ baseUrl });

const enroll: TEnrollInput = { enrollToken, hostname: 'openapi-client-node' };
const enrolled = await client.POST('/api/trpc/agent.enroll', { body: enroll });

const consumeInput: TConsumeInput = { tier: 'free', subject: 'openapi-client', requestId: 'openapi-client-1' };
const consumed = await client.POST('/api/trpc/admission.consume', {
  body: consumeInput,
  headers: { authorization: 'Bearer ' + gateway },
});

const fleetInput: TFleetListInput = { includeRevoked: false };
const fleet = await client.GET('/api/trpc/fleet.list', {
  params: { query: { input: JSON.stringify(fleetInput) } },
  headers: { authorization: 'Bearer ' + admin },
});

const anonymous = await client.GET('/api/trpc/fleet.list', {});
const code: string | undefined = anonymous.error?.error.data.code;
const httpStatus: number | undefined = anonymous.error?.error.data.httpStatus;

console.log(
  JSON.stringify({
    enroll: { status: enrolled.response.status, error: enrolled.error?.error.message ?? null },
    consume: {
      status: consumed.response.status,
      data: consumed.data?.result.data ?? null,
      rateLimitPolicy: consumed.response.headers.get('ratelimit-policy'),
      error: consumed.error?.error.message ?? null,
    },
    fleet: { status: fleet.response.status, data: fleet.data?.result.data ?? null, error: fleet.error?.error.message ?? null },
    anonymous: { status: anonymous.response.status, code, httpStatus },
  }),
);
`;

// What the types must refuse: a consume without subject, a procedure that does not exist, a query sent as POST.
const WRONG = `
import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';
const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:1' });
const noSubject: components['schemas']['AdmissionConsumeInput'] = { tier: 'free' };
await client.POST('/api/trpc/admission.nope', { body: {} });
await client.POST('/api/trpc/fleet.list', {});
console.log(noSubject);
`;

function compile(files: string[], emit: boolean): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    skipLibCheck: true,
    noEmit: !emit,
    outDir: dir,
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...(emit ? program.emit().diagnostics : [])];
  return diagnostics.map((d) => {
    const where = d.file
      ? `${d.file.fileName.split('/').pop()}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
      : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

test('a client generated by openapi-typescript compiles and calls admission.consume and fleet.list', async () => {
  writeFileSync(join(dir, 'openapi.json'), text);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const pkg = require.resolve('openapi-typescript/package.json');
  const bin = (JSON.parse(readFileSync(pkg, 'utf8')) as { bin: Record<string, string> }).bin['openapi-typescript']!;
  await run(process.execPath, [
    join(dirname(pkg), bin),
    join(dir, 'openapi.json'),
    '--output',
    join(dir, 'schema.d.ts'),
    // Fields with a default are optional to send: the generated type must say so.
    '--default-non-nullable=false',
  ]);

  writeFileSync(join(dir, 'wrong.ts'), WRONG);
  const refused = compile([join(dir, 'wrong.ts')], false);
  expect(refused.join('\n')).toMatch(/wrong\.ts:5 .*subject/);
  expect(refused.join('\n')).toMatch(/wrong\.ts:6 .*admission\.nope/);
  expect(refused.join('\n')).toMatch(/wrong\.ts:7 /);

  writeFileSync(join(dir, 'client.ts'), CLIENT);
  expect(compile([join(dir, 'client.ts')], true)).toEqual([]);

  const gateway = await gatewayToken(c.url, c.adminToken, 'openapi client');
  const { stdout } = await run(process.execPath, [join(dir, 'client.js'), c.url, gateway, c.adminToken, ENROLL], {
    cwd: dir,
  });
  const out = JSON.parse(stdout) as {
    enroll: { status: number; error: string | null };
    consume: { status: number; data: { allowed: boolean; tier: string } | null; rateLimitPolicy: string | null };
    fleet: { status: number; data: { nodes: { hostname: string }[] } | null };
    anonymous: { status: number; code: string; httpStatus: number };
  };
  expect(out.enroll).toEqual({ status: 200, error: null });
  expect(out.consume.status).toBe(200);
  expect(out.consume.data).toMatchObject({ allowed: true, tier: 'free' });
  expect(out.fleet.status).toBe(200);
  expect(out.fleet.data?.nodes.map((n) => n.hostname)).toEqual(['openapi-client-node']);
  expect(out.anonymous).toEqual({ status: 401, code: 'UNAUTHORIZED', httpStatus: 401 });
});
