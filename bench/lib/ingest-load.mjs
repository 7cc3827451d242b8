#!/usr/bin/env node
// Ingest load generator, run as its own process: N keep-alive clients POST agent.report for a
// fixed time after a warm-up. Each client owns a disjoint set of enrolled nodes and cycles
// through them, so every node's seq and collectedAt only grow (as from a real agent) and no two
// reports of one node race. Prints one JSON line with reports/s and latency percentiles.
//   node ingest-load.mjs <config.json>   {url, tokens[], seconds, warmup, clients, samplesPerReport, gpus, sample}
import http from 'node:http';
import { readFileSync } from 'node:fs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const target = new URL(`${cfg.url}/api/trpc/agent.report`);
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.clients });
const MAX_REPORTS = 2_000_000;

const nodes = cfg.tokens.map((token, i) => ({ token, i, seq: 0, lastMs: 0 }));

function gpuAt(template, index, n, seq) {
  const util = (n * 7 + index * 13 + seq * 3) % 101;
  return {
    ...template,
    index,
    uuid: `GPU-bench-${n}-${index}`,
    pciBusId: `00000000:${(0x10 + index).toString(16)}:00.0`,
    utilizationGpu: util,
    temperatureGpu: 35 + Math.round(util * 0.4),
    memoryUsedMiB: 1000 + util * 700,
    powerDrawW: 70 + util * 6,
  };
}

function report(node) {
  const samples = [];
  for (let k = 0; k < cfg.samplesPerReport; k++) {
    node.seq += 1;
    // collectedAt unique and increasing per node, close to now.
    node.lastMs = Math.max(Date.now() - (cfg.samplesPerReport - 1 - k), node.lastMs + 1);
    const gpus = Array.from({ length: cfg.gpus }, (_, g) => gpuAt(cfg.sample.gpus[0], g, node.i, node.seq));
    samples.push({
      ...cfg.sample,
      seq: node.seq,
      collectedAt: new Date(node.lastMs).toISOString(),
      gpus,
      health: { ...cfg.sample.health, gpuCount: cfg.gpus },
    });
  }
  return JSON.stringify({ agentVersion: 'bench', intervalSeconds: 5, samples });
}

function post(token, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let sent = 0;
let acceptedTotal = 0;
let firstError = null;
async function run(durationMs, record) {
  const end = Date.now() + durationMs;
  const lat = [];
  const statuses = new Map();
  let gpuSamples = 0;
  await Promise.all(
    Array.from({ length: cfg.clients }, async (_, c) => {
      const mine = nodes.filter((n) => n.i % cfg.clients === c);
      let k = 0;
      while (Date.now() < end && sent < MAX_REPORTS) {
        const node = mine[k++ % mine.length];
        const body = report(node);
        sent++;
        const t0 = process.hrtime.bigint();
        const res = await post(node.token, body);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (res.status === 200) acceptedTotal += JSON.parse(res.body).result.data.gpuSamples;
        else firstError ??= res.body.slice(0, 500);
        if (record) {
          lat.push(ms);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 200) gpuSamples += cfg.samplesPerReport * cfg.gpus;
        }
      }
    }),
  );
  return { lat, statuses, gpuSamples };
}

await run(cfg.warmup * 1000, false);
const t0 = Date.now();
const { lat, statuses, gpuSamples } = await run(cfg.seconds * 1000, true);
const elapsed = (Date.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
console.log(
  JSON.stringify({
    reportsPerSecond: lat.length / elapsed,
    gpuSamplesPerSecond: gpuSamples / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    reports: lat.length,
    statuses: Object.fromEntries(statuses),
    acceptedGpuSamplesTotal: acceptedTotal,
    firstError,
  }),
);
agent.destroy();
