/**
 * The OpenAPI contract (issue 14) against a real console: the served document
 * is valid OpenAPI 3.1 (an independent validator), lists every procedure of
 * the router with the schema the procedure validates with and an output
 * schema for each, the console's real answers validate against those output
 * schemas (Ajv, JSON Schema 2020-12, no extra keys), and a client generated
 * from it by openapi-typescript type-checks with tsc (its answers typed, not
 * any JSON) and calls the console over plain HTTP: a node enrolls, the
 * gateway consumes, fleet.list shows the node, an unauthenticated call reads
 * tRPC's error as typed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { appRouter, buildOpenApiDocument, HOT_PROCEDURES, ZConsumeRequest } from '@coolant/api';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { AnyRouter } from '@trpc/server';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import ts from 'typescript';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { z } from 'zod';
import { gpu, sample } from '../../../packages/api/test/samples';
import { createTier, gatewayToken } from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const ENROLL = 'openapi-test-enroll-secret-01234';

type TOperation = {
  operationId: string;
  'x-coolant-access': string;
  'x-coolant-output-declared': boolean;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  [key: string]: unknown;
};
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
    // Every answer documented by its output schema: none left as "any JSON".
    expect(d!.op['x-coolant-output-declared'], path).toBe(true);
    const ok = d!.op.responses['200']!.content!['application/json']!.schema as {
      properties: { result: { properties: { data: { $ref?: string } }; required: string[] } };
    };
    expect(ok.properties.result.required, path).toEqual(['data']);
    const ref = ok.properties.result.properties.data.$ref;
    expect(ref, `${path} has no output schema`).toMatch(/^#\/components\/schemas\/\w+Output$/);
    expect(doc.components.schemas[ref!.slice('#/components/schemas/'.length)], path).toBeDefined();
  }
  expect(documented.size).toBe(Object.keys(procedures).length);
  // A procedure without an output schema has no place in the document: building it fails, naming the procedure.
  expect(() =>
    buildOpenApiDocument({ router, version: 'test', hot: HOT_PROCEDURES, defaultMaxBody: 1024, outputs: new Map() }),
  ).toThrow(/auth\.login has no output schema/);
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

// Typed answers, not any JSON: these compile because the document declares each output schema.
const allowed: boolean | undefined = consumed.data?.result.data.allowed;
const hostnames: string[] | undefined = fleet.data?.result.data.nodes.map((n) => n.hostname);

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
    typed: { allowed: allowed ?? null, hostnames: hostnames ?? null },
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
const consumed = await client.POST('/api/trpc/admission.consume', { body: { tier: 'free', subject: 's' } });
const fleet = await client.GET('/api/trpc/fleet.list', { params: { query: { input: '{}' } } });
const notAString: string | undefined = consumed.data?.result.data.allowed;
const notANumber: number | undefined = fleet.data?.result.data.nodes[0]?.hostname;
console.log(noSubject, notAString, notANumber);
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
  // The answers are typed (with "any JSON" data these two would compile).
  expect(refused.join('\n')).toMatch(/wrong\.ts:10 .*'boolean( \| undefined)?' is not assignable to type 'string/);
  expect(refused.join('\n')).toMatch(/wrong\.ts:11 .*'string( \| undefined)?' is not assignable to type 'number/);

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
    typed: { allowed: boolean | null; hostnames: string[] | null };
  };
  expect(out.enroll).toEqual({ status: 200, error: null });
  expect(out.consume.status).toBe(200);
  expect(out.consume.data).toMatchObject({ allowed: true, tier: 'free' });
  expect(out.fleet.status).toBe(200);
  expect(out.fleet.data?.nodes.map((n) => n.hostname)).toEqual(['openapi-client-node']);
  expect(out.anonymous).toEqual({ status: 401, code: 'UNAUTHORIZED', httpStatus: 401 });
  expect(out.typed).toEqual({ allowed: true, hostnames: ['openapi-client-node'] });
});

/** One call's raw answer: HTTP status, JSON body and Set-Cookie, as any client gets them. */
async function answer(
  path: string,
  input: unknown,
  auth: { token?: string; cookie?: string },
  method: 'GET' | 'POST',
): Promise<{ status: number; body: unknown; setCookie: string | null }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  if (auth.cookie) headers.cookie = auth.cookie;
  const query = method === 'GET' && input !== undefined ? `?input=${encodeURIComponent(JSON.stringify(input))}` : '';
  const res = await fetch(`${c.url}/api/trpc/${path}${query}`, {
    method,
    headers,
    ...(method === 'POST' ? { body: JSON.stringify(input ?? {}) } : {}),
  });
  return { status: res.status, body: (await res.json()) as unknown, setCookie: res.headers.get('set-cookie') };
}

test("the console's real answers validate against the document's output schemas (Ajv, no extra keys)", async () => {
  // The document's components as $defs of one schema, so each operation's own 200 schema resolves its $refs.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('#/components/schemas/', '#/$defs/'));
  ajv.addSchema({ $id: 'coolant-openapi', $defs: defs });
  const validators = new Map<string, ValidateFunction>();
  const seen: string[] = [];
  async function expectDocumented(
    path: string,
    input: unknown,
    auth: { token?: string; cookie?: string },
  ): Promise<{ data: Record<string, unknown>; setCookie: string | null }> {
    const method = doc.paths[`/api/trpc/${path}`]!.get ? 'GET' : 'POST';
    const op = doc.paths[`/api/trpc/${path}`]![method.toLowerCase()]!;
    let validate = validators.get(path);
    if (!validate) {
      const schema = JSON.stringify(op.responses['200']!.content!['application/json']!.schema);
      validate = ajv.compile(JSON.parse(schema.replaceAll('#/components/schemas/', 'coolant-openapi#/$defs/')));
      validators.set(path, validate);
    }
    const r = await answer(path, input, auth, method);
    expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
    const ok = validate(r.body);
    expect(ok, `${path}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(r.body).slice(0, 4000)}`).toBe(true);
    seen.push(path);
    return { data: (r.body as { result: { data: Record<string, unknown> } }).result.data, setCookie: r.setCookie };
  }
  const admin = { token: c.adminToken };

  // The admission answers: allowed (with its ticket and policies), refused by the tier's quota, with a lease.
  await createTier(c.url, c.adminToken, 'openapi-tight', { day: 1 });
  const gateway = { token: await gatewayToken(c.url, c.adminToken, 'openapi schemas') };
  const allowed = await expectDocumented('admission.consume', { tier: 'openapi-tight', subject: 'schema-1' }, gateway);
  expect(allowed.data).toMatchObject({ allowed: true, reason: 'ok', lease: null });
  const denied = await expectDocumented('admission.consume', { tier: 'openapi-tight', subject: 'schema-1' }, gateway);
  expect(denied.data).toMatchObject({ allowed: false, reason: 'quota_exceeded', ticket: null });
  await expectDocumented(
    'admission.consume',
    { tier: 'plus', subject: 'schema-2', lease: { ttlSeconds: 30 } },
    gateway,
  );
  await expectDocumented('admission.refund', { ticket: allowed.data.ticket }, gateway);

  // A node that has reported GPUs, so the fleet's answers carry health, host and GPU rows.
  const enrolled = await expectDocumented('agent.enroll', { enrollToken: ENROLL, hostname: 'openapi-schema-node' }, {});
  const node = { token: String(enrolled.data.nodeToken) };
  const report = { intervalSeconds: 5, agentVersion: 'openapi', samples: [sample(1, [gpu(0), gpu(1)])] };
  await expectDocumented('agent.report', report, node);
  await expectDocumented('agent.sequence', undefined, node);
  const fleet = await expectDocumented('fleet.list', { includeRevoked: false }, admin);
  const listed = (fleet.data.nodes as { id: string; hostname: string; gpus: unknown[] }[]).find(
    (n) => n.hostname === 'openapi-schema-node',
  );
  expect(listed?.gpus).toHaveLength(2);
  await expectDocumented('fleet.node', { id: listed!.id }, admin);
  await expectDocumented('fleet.alertRules', undefined, admin);

  await expectDocumented('tiers.list', { includeRetired: true }, admin);
  await expectDocumented('capacity.get', undefined, admin);
  await expectDocumented('capacity.history', { minutes: 60 }, admin);
  await expectDocumented('guard.get', undefined, admin);
  await expectDocumented('guard.get', { brief: true }, admin);
  await expectDocumented('guard.history', undefined, admin);
  await expectDocumented('tokens.list', { includeRevoked: true }, admin);
  await expectDocumented('users.list', undefined, admin);
  await expectDocumented('audit.list', { limit: 20 }, admin);
  await expectDocumented('system.info', undefined, {});

  // Notifications with a channel configured (a closed port: its delivery state shows the failure).
  await expectDocumented('notifications.get', undefined, admin);
  await expectDocumented(
    'notifications.configure',
    { alertmanager: { url: 'http://127.0.0.1:9' }, webhook: null },
    admin,
  );
  await expectDocumented('notifications.get', undefined, admin);

  // A session: auth.login sets the cookie, auth.me reads it; and anonymous, auth.me answers null.
  const login = await expectDocumented('auth.login', { username: 'admin', password: 'test-admin-password' }, {});
  const cookie = login.setCookie!.split(';')[0]!;
  expect((await expectDocumented('auth.me', undefined, { cookie })).data).toMatchObject({ kind: 'user' });
  expect((await expectDocumented('auth.me', undefined, {})).data).toBeNull();
  await expectDocumented('auth.me', undefined, gateway);

  // A smoke run on the console itself, then the list and the run (picture fields included).
  const smoke = await expectDocumented('smoke.run', { target: 'local', prompt: 'OPENAPI', seed: 7 }, admin);
  const runId = (smoke.data.runs as { id: string }[])[0]!.id;
  const list = await expectDocumented('smoke.list', { limit: 10 }, admin);
  expect((list.data.runs as { id: string }[]).map((r) => r.id)).toContain(runId);
  // Until it has finished: its picture and checksum filled in, each answer on the way validated.
  let run = (await expectDocumented('smoke.get', { id: runId }, admin)).data;
  for (const deadline = Date.now() + 60_000; run.state === 'queued' || run.state === 'running';) {
    expect(Date.now(), 'the local smoke run finishes within 60 s').toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 250));
    run = (await expectDocumented('smoke.get', { id: runId }, admin)).data;
  }
  expect(run).toMatchObject({ state: 'passed', png: expect.any(String) });

  expect([...new Set(seen)].sort()).toEqual(
    [
      'admission.consume',
      'admission.refund',
      'agent.enroll',
      'agent.report',
      'agent.sequence',
      'audit.list',
      'auth.login',
      'auth.me',
      'capacity.get',
      'capacity.history',
      'fleet.alertRules',
      'fleet.list',
      'fleet.node',
      'guard.get',
      'guard.history',
      'notifications.configure',
      'notifications.get',
      'smoke.get',
      'smoke.list',
      'smoke.run',
      'system.info',
      'tiers.list',
      'tokens.list',
      'users.list',
    ].sort(),
  );
  // The validators are not vacuous: an answer with a key the schema does not name, or a wrong type, fails.
  const consume = validators.get('admission.consume')!;
  expect(consume({ result: { data: { ...allowed.data, extra: 1 } } })).toBe(false);
  expect(consume({ result: { data: { ...allowed.data, allowed: 'yes' } } })).toBe(false);
  expect(consume({ result: { data: allowed.data } })).toBe(true);
});
