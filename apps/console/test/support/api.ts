import type { TConsumeResponse } from '@coolant/api';
import { trpc } from './console-process';

/** Raw POST of one tRPC call as curl would send it; the body is whatever the test wants on the wire. */
export async function postRaw(
  url: string,
  path: string,
  body: string,
  token: string | null,
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/api/trpc/${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

export type TConsumeCall = {
  status: number;
  headers: Headers;
  data: TConsumeResponse | null;
  error: { message: string; data: { code: string } } | null;
};

export async function consume(url: string, token: string, input: unknown): Promise<TConsumeCall> {
  const r = await postRaw(url, 'admission.consume', JSON.stringify(input), token);
  const json = r.json as { result?: { data: TConsumeResponse }; error?: { message: string; data: { code: string } } };
  return { status: r.status, headers: r.headers, data: json?.result?.data ?? null, error: json?.error ?? null };
}

/** A tRPC call that must succeed; the error (with the HTTP status) is thrown otherwise. */
export async function call<T>(
  url: string,
  path: string,
  input: unknown,
  token: string,
  method: 'POST' | 'GET' = 'POST',
): Promise<T> {
  const r = await trpc<T>(url, path, input, token, method);
  if (r.error || r.status !== 200)
    throw new Error(`${path} → HTTP ${r.status}: ${r.error?.message ?? 'no error message'}`);
  return r.data;
}

export async function gatewayToken(url: string, adminToken: string, name = 'test gateway'): Promise<string> {
  const r = await call<{ secret: string }>(url, 'tokens.create', { name, role: 'gateway' }, adminToken);
  return r.secret;
}

/** A new tier with the given base limits; returns the config version that carries them. */
export async function createTier(
  url: string,
  adminToken: string,
  name: string,
  limits: Partial<Record<'minute' | 'hour' | 'day', number>>,
): Promise<number> {
  let version = (await call<{ configVersion: number }>(url, 'tiers.create', { name }, adminToken)).configVersion;
  for (const [window, limit] of Object.entries(limits)) {
    version = (await call<{ configVersion: number }>(url, 'tiers.setLimit', { tier: name, window, limit }, adminToken))
      .configVersion;
  }
  return version;
}

export async function metricsText(url: string): Promise<{ status: number; contentType: string | null; text: string }> {
  const res = await fetch(`${url}/metrics`);
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

type TMetricSample = { name: string; labels: Record<string, string>; value: number };

/** Samples of the Prometheus text format (enough of it for the families Coolant writes). */
export function parseMetrics(text: string): TMetricSample[] {
  const out: TMetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export function metricValue(
  samples: TMetricSample[],
  name: string,
  labels: Record<string, string> = {},
): number | null {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s ? s.value : null;
}

/** The instance id and applied config version of a console, from its own /metrics. */
export async function instanceState(url: string): Promise<{ instance: string; configVersion: number }> {
  const samples = parseMetrics((await metricsText(url)).text);
  const info = samples.find((s) => s.name === 'coolant_info');
  const version = metricValue(samples, 'coolant_config_version');
  if (!info || version === null) throw new Error(`${url}/metrics lacks coolant_info or coolant_config_version`);
  return { instance: info.labels.instance!, configVersion: version };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String((last as Error).message ?? last)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Until every console applies at least this config version (a change made through one of them). */
export async function waitForConfig(urls: string[], version: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    `config version ${version} on ${urls.join(', ')}`,
    async () => (await Promise.all(urls.map((u) => instanceState(u)))).every((s) => s.configVersion >= version),
    timeoutMs,
  );
}
