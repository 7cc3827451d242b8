#!/usr/bin/env node
// Load generator, run as its own process: N keep-alive clients POST a small
// JSON body to 127.0.0.1 for a fixed time after a warm-up, and print one JSON
// line with decisions/s and latency percentiles. Bounded in count and time.
import http from 'node:http';

const [url, secondsArg, clientsArg, warmupArg, subjectsArg, token, tier] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 8);
const clients = Number(clientsArg ?? 16);
const warmup = Number(warmupArg ?? 2);
const subjects = Number(subjectsArg ?? 10000);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const MAX_REQUESTS = 5_000_000;

function post(body) {
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
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let sent = 0;
let seq = 0;
function body() {
  seq = (seq * 1103515245 + 12345) >>> 0;
  return JSON.stringify({ tier: tier ?? 'bench', subject: `user-${seq % subjects}` });
}

async function run(durationMs, record) {
  const end = Date.now() + durationMs;
  const lat = [];
  const statuses = new Map();
  let count = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end && sent < MAX_REQUESTS) {
        sent++;
        const t0 = process.hrtime.bigint();
        const status = await post(body());
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (record) {
          lat.push(ms);
          count++;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }
    }),
  );
  return { lat, count, statuses };
}

await run(warmup * 1000, false);
const t0 = Date.now();
const { lat, count, statuses } = await run(seconds * 1000, true);
const elapsed = (Date.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
console.log(
  JSON.stringify({ rps: count / elapsed, p50: q(0.5), p99: q(0.99), count, statuses: Object.fromEntries(statuses) }),
);
agent.destroy();
