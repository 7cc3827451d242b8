import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Spool, type TCollectedSample, type TSpoolOptions } from '../src/index.ts';

let dir: string;
const open: Spool[] = [];
/** Copies of `dir` a test made (a crash's leftovers), removed with it. */
const copies: string[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'coolant-spool-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  await rm(dir, { recursive: true, force: true });
  for (const copy of copies.splice(0)) await rm(copy, { recursive: true, force: true });
});

async function openSpool(options: Partial<TSpoolOptions> = {}): Promise<Spool> {
  // fsync makes no difference to what these tests check and slows them on some disks.
  const spool = await Spool.open({ dir, durable: false, ...options });
  open.push(spool);
  return spool;
}

/** Simulates the process ending: the next open() must work from disk alone. */
async function restart(spool: Spool, options: Partial<TSpoolOptions> = {}): Promise<Spool> {
  await spool.close();
  open.splice(open.indexOf(spool), 1);
  return openSpool(options);
}

function sample(n: number): TCollectedSample {
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
      errors: [],
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

const recordFiles = async () => (await readdir(path.join(dir, 'records'))).sort();

/** Everything sent and confirmed, as the agent's sender ends up after a drain. */
async function sendAll(spool: Spool): Promise<void> {
  const newest = spool.stats().newestSeq;
  if (newest !== null) await spool.ack(newest);
}

describe('Spool', () => {
  test('assigns increasing seq; peek hands out the oldest first, ack deletes only what was sent', async () => {
    const spool = await openSpool();
    for (let n = 1; n <= 5; n += 1) expect((await spool.append(sample(n))).seq).toBe(n);
    const batches: number[][] = [];
    // As the agent's SpoolSender does: peek a batch, send it, ack through its last seq.
    for (let batch = await spool.peek(2); batch.length; batch = await spool.peek(2)) {
      batches.push(batch.map((r) => r.seq));
      await spool.ack(batch.at(-1)!.seq);
    }
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(spool.stats()).toMatchObject({ records: 0, bytes: 0, nextSeq: 6, oldestSeq: null });
    expect(await recordFiles()).toEqual([]);
  });

  test('a batch that was not acked (its send failed) stays for next time', async () => {
    const spool = await openSpool();
    for (let n = 1; n <= 5; n += 1) await spool.append(sample(n));
    await spool.ack((await spool.peek(2)).at(-1)!.seq);
    await spool.peek(2); // sent, but the console did not answer: no ack
    expect((await spool.peek(10)).map((r) => r.seq)).toEqual([3, 4, 5]);
  });

  test('appends while a batch is in flight are not blocked by it and are sent next', async () => {
    const spool = await openSpool();
    await spool.append(sample(1));
    const batch = await spool.peek(100);
    // The sampling loop runs while the network call is in flight.
    await spool.append(sample(2));
    await spool.ack(batch.at(-1)!.seq);
    expect((await spool.peek(100)).map((r) => r.seq)).toEqual([2]);
  });

  test('count cap: oldest dropped, dropped counted, carried in the records and kept across restarts', async () => {
    let spool = await openSpool({ maxRecords: 3 });
    const appended = [];
    for (let n = 1; n <= 5; n += 1) appended.push(await spool.append(sample(n)));
    expect(appended.map((r) => r.spoolDropped)).toEqual([0, 0, 0, 1, 2]);
    expect(spool.stats()).toMatchObject({ records: 3, dropped: 2, oldestSeq: 3, newestSeq: 5 });
    expect(await recordFiles()).toEqual(['0000000000000003.json', '0000000000000004.json', '0000000000000005.json']);

    spool = await restart(spool, { maxRecords: 3 });
    expect(spool.stats()).toMatchObject({ records: 3, dropped: 2, nextSeq: 6 });
    expect((await spool.append(sample(6))).spoolDropped).toBe(3);
    expect((await spool.peek(10)).map((r) => r.seq)).toEqual([4, 5, 6]);
  });

  test('byte cap: oldest dropped until the new record fits', async () => {
    const probe = await openSpool();
    const size = Buffer.byteLength(JSON.stringify(await probe.append(sample(1))));
    await probe.close();
    await rm(dir, { recursive: true, force: true });

    const spool = await openSpool({ maxBytes: size * 2 + 10 });
    for (let n = 1; n <= 4; n += 1) await spool.append(sample(n));
    expect(spool.stats()).toMatchObject({ records: 2, dropped: 2, oldestSeq: 3 });
    expect(spool.stats().bytes).toBeLessThanOrEqual(size * 2 + 10);
  });

  test('lowering a cap between runs trims at the next append', async () => {
    let spool = await openSpool();
    for (let n = 1; n <= 4; n += 1) await spool.append(sample(n));
    spool = await restart(spool, { maxRecords: 2 });
    await spool.append(sample(5));
    expect((await spool.peek(10)).map((r) => r.seq)).toEqual([4, 5]);
    expect(spool.stats().dropped).toBe(3);
  });

  test('seq survives a restart even when everything was sent and deleted', async () => {
    let spool = await openSpool();
    for (let n = 1; n <= 3; n += 1) await spool.append(sample(n));
    await sendAll(spool);
    spool = await restart(spool);
    expect((await spool.append(sample(4))).seq).toBe(4);
  });

  test('a crash (no close) skips at most a block of seqs and never hands one out again', async () => {
    const spool = await openSpool();
    const crashedAt = async (): Promise<Spool> => {
      // What the disk holds if the process died now: its files, without the lock of a live process.
      const copy = await mkdtemp(path.join(os.tmpdir(), 'coolant-spool-crash-'));
      copies.push(copy);
      await cp(dir, copy, { recursive: true });
      await unlink(path.join(copy, 'lock'));
      const reopened = await Spool.open({ dir: copy, durable: false });
      open.push(reopened);
      return reopened;
    };
    for (let n = 1; n <= 3; n += 1) await spool.append(sample(n));
    await sendAll(spool);
    const early = (await (await crashedAt()).append(sample(4))).seq;
    expect(early).toBeGreaterThan(3);
    expect(early).toBeLessThanOrEqual(3 + 64);
    // Past the first block: the ceiling moved before the record that crossed it was written.
    for (let n = 4; n <= 70; n += 1) await spool.append(sample(n));
    await sendAll(spool);
    const late = (await (await crashedAt()).append(sample(71))).seq;
    expect(late).toBeGreaterThan(70);
    expect(late).toBeLessThanOrEqual(70 + 64);
  });

  test('peek hands out the newest records from memory and older ones from disk, the same either way', async () => {
    const size = Buffer.byteLength(JSON.stringify({ seq: 1, spoolDropped: 0, ...sample(1) }));
    // Room in memory for the two newest records only.
    let spool = await openSpool({ memoryBytes: size * 2 + 1 });
    for (let n = 1; n <= 6; n += 1) await spool.append(sample(n));
    // The oldest files are damaged on disk: only a record read back from disk can notice.
    await writeFile(path.join(dir, 'records', '0000000000000003.json'), '');
    await writeFile(path.join(dir, 'records', '0000000000000006.json'), '');
    const mixed = await spool.peek(10);
    expect(mixed.map((r) => [r.seq, r.host.memUsedBytes])).toEqual([
      [1, 1],
      [2, 2],
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
    expect(spool.stats()).toMatchObject({ records: 5, corrupt: 1 });
    spool = await restart(spool, { memoryBytes: 0 });
    const fromDisk = await spool.peek(10);
    expect(fromDisk).toEqual(mixed.slice(0, 4));
    expect(spool.stats().corrupt).toBe(2);
  });

  test('a record torn by a crash is discarded and counted; its neighbours and seq order survive', async () => {
    let spool = await openSpool();
    for (let n = 1; n <= 3; n += 1) await spool.append(sample(n));
    await spool.close();
    open.splice(0);
    // Power loss after the rename but before the data reached the disk: a cut (or empty) file.
    const newest = path.join(dir, 'records', '0000000000000003.json');
    const full = await readFile(newest, 'utf8');
    await truncate(newest, Math.floor(full.length / 2));
    await writeFile(path.join(dir, 'records', '0000000000000002.json'), '');
    // And a write that never reached its rename.
    await writeFile(path.join(dir, 'records', '0000000000000004.json.4242.tmp'), '{"seq":4');

    spool = await openSpool();
    expect(await recordFiles()).not.toContain('0000000000000004.json.4242.tmp');
    expect((await spool.peek(10)).map((r) => r.seq)).toEqual([1]);
    expect(spool.stats()).toMatchObject({ records: 1, corrupt: 2 });
    // The torn records' seqs are not handed out again.
    expect((await spool.append(sample(4))).seq).toBe(4);
    spool = await restart(spool);
    expect(spool.stats().corrupt).toBe(2);
  });

  test('a damaged state file: seq jumps past anything that could have been used, never back to 1', async () => {
    let spool = await openSpool();
    await spool.append(sample(1));
    await sendAll(spool);
    await spool.close();
    open.splice(0);
    await writeFile(path.join(dir, 'state.json'), '{"version":1,"nextS');

    const before = Date.now() * 1000;
    spool = await openSpool();
    expect(spool.stats().stateRecovered).toBe(true);
    expect((await spool.append(sample(2))).seq).toBeGreaterThanOrEqual(before);
  });

  test('rejects a sample the server would reject, without using a seq', async () => {
    const spool = await openSpool();
    const bad = { ...sample(1), gpus: [{ index: 0 }] } as unknown as TCollectedSample;
    await expect(spool.append(bad)).rejects.toThrow();
    expect((await spool.append(sample(1))).seq).toBe(1);
  });

  test('one process per spool directory; a lock left by a dead process is taken over', async () => {
    const spool = await openSpool();
    await expect(Spool.open({ dir })).rejects.toThrow(/already open in this process/);
    await spool.close();
    open.splice(0);

    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(path.join(dir, 'lock'), String(dead));
    const again = await openSpool();
    expect(again.stats().records).toBe(0);

    await again.close();
    open.splice(0);
    // A live foreign holder (pid 1 is always alive) is refused.
    await writeFile(path.join(dir, 'lock'), '1');
    await expect(Spool.open({ dir })).rejects.toThrow(/in use by process 1/);
  });
});
