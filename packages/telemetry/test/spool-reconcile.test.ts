/**
 * The spool's side of "nothing acknowledged is lost": a spool whose state file is gone learns the
 * console's acceptedUpTo and renumbers above it instead of letting its samples pass for duplicates;
 * batches are capped by bytes; a sample the console refuses on its own is set aside and counted.
 */
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Spool, ZTelemetrySample, type TCollectedSample } from '../src/index.ts';

let dir: string;
const open: Spool[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'coolant-spool-reconcile-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  await rm(dir, { recursive: true, force: true });
});

async function openSpool(): Promise<Spool> {
  const spool = await Spool.open({ dir, durable: false });
  open.push(spool);
  return spool;
}

async function restart(spool: Spool): Promise<Spool> {
  await spool.close();
  open.splice(open.indexOf(spool), 1);
  return openSpool();
}

function sample(n: number, errors: string[] = []): TCollectedSample {
  return {
    collectedAt: new Date(Date.UTC(2026, 10, 27, 21, 0, n)).toISOString(),
    host: {
      hostname: 'gpu-01',
      cpuLoadPercent: n % 100,
      memUsedBytes: n,
      memTotalBytes: 1_000_000,
      os: null,
      gpuInventory: null,
    },
    gpus: [],
    health: {
      durationMs: 35,
      errors,
      gpuCount: 0,
      nvidiaSmi: {
        status: 'missing',
        exitCode: null,
        message: 'nvidia-smi not found on PATH',
        queriedFields: [],
        unsupportedFields: [],
      },
      hostMetrics: { status: 'ok', message: null },
      inventory: { status: 'no-lspci', nvidiaControllers: null, message: null },
      timeouts: [],
      inventoryMismatch: false,
      inventoryMismatchReason: null,
    },
  };
}

describe('Spool.reconcile', () => {
  test('a spool that lost its state file renumbers its samples above what the console has, oldest first, and keeps numbering from there', async () => {
    let spool = await openSpool();
    for (let n = 1; n <= 3; n += 1) await spool.append(sample(n));
    await spool.reconcile(0);
    await spool.ack(spool.stats().newestSeq!);
    spool = await restart(spool);
    expect(spool.stats().unconfirmed).toBe(false);

    // The state file goes (a wiped spool directory, a tmpfs); the node token stays.
    await spool.close();
    open.splice(0);
    await unlink(path.join(dir, 'state.json'));
    spool = await openSpool();
    expect(spool.stats()).toMatchObject({ unconfirmed: true, nextSeq: 1 });
    const fresh = [];
    for (let n = 10; n <= 12; n += 1) fresh.push(await spool.append(sample(n)));
    expect(fresh.map((r) => r.seq)).toEqual([1, 2, 3]);

    expect(await spool.reconcile(3)).toEqual({ renumbered: 3, jumped: false });
    const batch = await spool.peek(10);
    expect(batch.map((r) => r.seq)).toEqual([4, 5, 6]);
    expect(batch.map((r) => r.host.memUsedBytes)).toEqual([10, 11, 12]);
    for (const r of batch) expect(ZTelemetrySample.safeParse(r).success).toBe(true);
    expect((await spool.append(sample(13))).seq).toBe(7);
    expect(spool.stats().unconfirmed).toBe(false);

    // Confirmed, it survives a restart; a second reconcile changes nothing.
    spool = await restart(spool);
    expect((await spool.peek(10)).map((r) => r.seq)).toEqual([4, 5, 6, 7]);
    expect(await spool.reconcile(3)).toEqual({ renumbered: 0, jumped: false });
    expect(await spool.ack(5)).toBe(2);
    expect((await spool.peek(10)).map((r) => r.host.memUsedBytes)).toEqual([12, 13]);
  });

  test('records numbered before the state file went keep their numbers (the console may have them); only the new ones move', async () => {
    let spool = await openSpool();
    for (let n = 1; n <= 4; n += 1) await spool.append(sample(n));
    await spool.reconcile(0);
    await spool.close();
    open.splice(0);
    await unlink(path.join(dir, 'state.json'));
    spool = await openSpool();
    expect(spool.stats()).toMatchObject({ unconfirmed: true, nextSeq: 5 });
    await spool.append(sample(5));
    // The console stored 1..9 (say, from a copy of this state dir): 1..4 are duplicates, 5 is new.
    expect(await spool.reconcile(9)).toEqual({ renumbered: 1, jumped: false });
    expect((await spool.peek(10)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 10]);
    expect((await spool.append(sample(6))).seq).toBe(11);
  });

  test('a confirmed spool behind the console jumps its numbering past it', async () => {
    const spool = await openSpool();
    await spool.reconcile(0);
    await spool.append(sample(1));
    expect(await spool.reconcile(2 ** 40)).toEqual({ renumbered: 0, jumped: true });
    expect((await spool.append(sample(2))).seq).toBe(2 ** 40 + 1);
  });
});

describe('Spool byte cap and quarantine', () => {
  test('peek stops before the byte cap, but always returns at least one record', async () => {
    const spool = await openSpool();
    const big = 'x'.repeat(1500);
    for (let n = 1; n <= 5; n += 1) await spool.append(sample(n, [big]));
    const one = (await readFile(path.join(dir, 'records', '0000000000000001.json'))).length;
    expect((await spool.peek(100, one * 2 + 10)).map((r) => r.seq)).toEqual([1, 2]);
    expect((await spool.peek(100, 10)).map((r) => r.seq)).toEqual([1]);
    expect((await spool.peek(3)).map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  test('a quarantined record leaves the spool for quarantine/ with its reason, is counted across restarts and travels in later health', async () => {
    let spool = await openSpool();
    for (let n = 1; n <= 3; n += 1) await spool.append(sample(n));
    expect(await spool.quarantine(2, 'samples.0.gpus: duplicate GPU index 2')).toBe(true);
    expect(await spool.quarantine(2, 'again')).toBe(false);
    expect((await spool.peek(10)).map((r) => r.seq)).toEqual([1, 3]);
    const kept = JSON.parse(await readFile(path.join(dir, 'quarantine', '0000000000000002.json'), 'utf8')) as {
      reason: string;
      sample: { seq: number };
    };
    expect(kept).toMatchObject({ reason: 'samples.0.gpus: duplicate GPU index 2', sample: { seq: 2 } });
    spool = await restart(spool);
    expect(spool.stats().quarantined).toBe(1);
    const next = await spool.append(sample(4));
    expect(next.health).toMatchObject({
      spoolQuarantined: 1,
      spoolQuarantineReason: 'samples.0.gpus: duplicate GPU index 2',
    });
    expect(ZTelemetrySample.parse(next)).toEqual(next);
  });
});
