/**
 * Bounded on-disk spool of telemetry samples, for the time the console is unreachable.
 *
 * Layout under `dir`:
 *   state.json                  { version, nextSeq, dropped, corrupt, quarantined?, quarantineReason?, unconfirmedFrom? }
 *   records/<seq, 16 digits>.json   one sample per file
 *   quarantine/<seq>.json       the last samples the console refused one by one, with its reason (bounded)
 *   lock                        pid of the process that has the spool open
 *
 * One file per record, each written to a temporary name, fsynced and renamed, so a crash leaves
 * either a whole record or a `*.tmp` that the next open() deletes: there is no shared file whose
 * last line can be torn. A record that is damaged anyway (power loss before the data reached the
 * disk leaves an empty or cut file behind a completed rename) fails validation when read, is
 * deleted and counted in `corrupt`, and the rest of the spool carries on.
 *
 * `seq` is assigned here, so it is one sequence per node across restarts. state.json holds a ceiling
 * above every seq handed out, written before the record that first passes the previous one and
 * raised SEQ_BLOCK at a time (close() writes the exact next seq), so a crash can leave a gap in seq
 * (harmless) but never reuse one (the server would drop the new sample as a duplicate). Why blocks:
 * a state write per sample doubled the spool's disk writes and fsyncs (profile of the light fleet).
 *
 * The newest records are also kept in memory (up to `memoryBytes`), as they were written: the
 * sender, which peeks a record moments after it was appended, then sends it without reading and
 * validating it back from disk (a third of the spool's cost in the light fleet's profile). Older
 * ones, and all of a previous process's, are read from disk.
 *
 * A spool that starts without its state file cannot know the highest seq the console already has
 * (the node token may have outlived the spool). Until the agent tells it (`reconcile()` with the
 * console's acceptedUpTo) it is *unconfirmed*: every seq handed out since is a new sample, and one the
 * console already counts is renumbered above it rather than acknowledged as a duplicate.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ZCollectedSample, ZTelemetrySample, type TCollectedSample, type TTelemetrySample } from './schema.ts';

export type TSpoolOptions = {
  dir: string;
  /** Oldest records are dropped past this many. Default 10 000 (about 28 h at one sample per 10 s). */
  maxRecords?: number;
  /** Oldest records are dropped past this many bytes of record files. Default 64 MiB. A single record larger than the cap is still kept, alone. */
  maxBytes?: number;
  /** fsync records and state before renaming them into place. Default true; tests may turn it off. */
  durable?: boolean;
  /** JSON bytes of the newest records also kept in memory for peek(). Default 64 KiB (~25 8-GPU samples). */
  memoryBytes?: number;
};

export type TSpoolStats = {
  records: number;
  bytes: number;
  /** Records discarded unsent because a cap was reached; persisted, never reset. */
  dropped: number;
  /** Records found unreadable (damaged by a crash) and discarded; persisted. */
  corrupt: number;
  /** Records the console refused on their own, set aside in quarantine/; persisted, never reset. */
  quarantined: number;
  nextSeq: number;
  /** The console's acceptedUpTo is not known yet: call reconcile() before acknowledging anything. */
  unconfirmed: boolean;
  oldestSeq: number | null;
  newestSeq: number | null;
  /** state.json was unreadable at open; seq was moved past anything that could have been used. */
  stateRecovered: boolean;
};

export type TReconcileResult = {
  /** Records moved above the console's acceptedUpTo (they were numbered after a lost state file). */
  renumbered: number;
  /** nextSeq had to jump past the console's acceptedUpTo (the console knew seqs this spool never handed out). */
  jumped: boolean;
};

/** Quarantined samples kept on disk for a human to read; older ones are deleted (the count stays). */
const QUARANTINE_FILES = 100;

const ZSpoolState = z.strictObject({
  version: z.literal(1),
  nextSeq: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  dropped: z.int().min(0),
  corrupt: z.int().min(0),
  // Optional so a state file written before they existed still opens.
  quarantined: z.int().min(0).optional(),
  quarantineReason: z.string().nullable().optional(),
  /** First seq handed out since the state file was (re)created; null once the console's acceptedUpTo is known. */
  unconfirmedFrom: z.int().min(1).nullable().optional(),
});
type TSpoolState = z.infer<typeof ZSpoolState>;

const RECORD_NAME = /^(\d{16})\.json$/;
const SEQ_DIGITS = 16;
/** Seqs reserved per state write: a crash skips at most this many. */
const SEQ_BLOCK = 64;

/** `record`: the record as appended, while it is among the newest `memoryBytes` (see the top). */
type TIndexEntry = { seq: number; bytes: number; record?: TTelemetrySample };

/** Spool directories open in this process (the lock file cannot tell two of them apart). */
const openDirs = new Set<string>();

export class Spool {
  private readonly dir: string;
  private readonly recordsDir: string;
  private readonly statePath: string;
  private readonly lockPath: string;
  private readonly quarantineDir: string;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly durable: boolean;
  private readonly memoryBytes: number;
  /** Entries whose record is in memory, oldest first (some may have lost it since), and their bytes. */
  private inMemory: TIndexEntry[] = [];
  private inMemoryBytes = 0;
  /** nextSeq as state.json holds it: every seq handed out is below it. */
  private persistedNextSeq = 0;
  /** Records on disk, oldest first; seq only grows, so appends keep it sorted. */
  private index: TIndexEntry[] = [];
  private bytes = 0;
  private state: TSpoolState = { version: 1, nextSeq: 1, dropped: 0, corrupt: 0 };
  private stateRecovered = false;
  /** Serialises operations within this process; disk order must match seq order. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(options: TSpoolOptions) {
    this.dir = path.resolve(options.dir);
    this.recordsDir = path.join(options.dir, 'records');
    this.statePath = path.join(options.dir, 'state.json');
    this.lockPath = path.join(options.dir, 'lock');
    this.quarantineDir = path.join(options.dir, 'quarantine');
    this.maxRecords = options.maxRecords ?? 10_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.durable = options.durable ?? true;
    this.memoryBytes = options.memoryBytes ?? 64 * 1024;
    if (!(this.maxRecords >= 1) || !(this.maxBytes >= 1)) throw new Error('Spool caps must be at least 1');
    if (!(this.memoryBytes >= 0)) throw new Error('Spool memoryBytes must be at least 0');
  }

  static async open(options: TSpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    if (openDirs.has(spool.dir)) throw new Error(`spool ${spool.dir} is already open in this process`);
    openDirs.add(spool.dir);
    try {
      await mkdir(spool.recordsDir, { recursive: true });
      await spool.acquireLock();
      await spool.load();
    } catch (error) {
      openDirs.delete(spool.dir);
      throw error;
    }
    return spool;
  }

  /** Assigns the next seq, stores the sample, and drops the oldest records if a cap is exceeded. */
  append(sample: TCollectedSample): Promise<TTelemetrySample> {
    return this.exclusive(async () => {
      const parsed = ZCollectedSample.parse(sample);
      const quarantined = this.state.quarantined ?? 0;
      // Carried in the health of every later sample, so the console shows what was set aside.
      const collected =
        quarantined > 0
          ? {
              ...parsed,
              health: {
                ...parsed.health,
                spoolQuarantined: quarantined,
                spoolQuarantineReason: this.state.quarantineReason ?? null,
              },
            }
          : parsed;
      const seq = this.state.nextSeq;
      // Make room first so the stored record can carry the drop count that includes its own arrival.
      const estimate = Buffer.byteLength(JSON.stringify({ seq, spoolDropped: this.state.dropped, ...collected }));
      const victims: TIndexEntry[] = [];
      let count = this.index.length;
      let bytes = this.bytes;
      while (count > 0 && (count + 1 > this.maxRecords || bytes + estimate > this.maxBytes)) {
        const victim = this.index[victims.length];
        if (!victim) break;
        victims.push(victim);
        count -= 1;
        bytes -= victim.bytes;
      }
      this.state = { ...this.state, nextSeq: seq + 1, dropped: this.state.dropped + victims.length };
      // Before the record: a new dropped count, or a seq at the ceiling (a new block is reserved).
      if (victims.length > 0 || seq + 1 > this.persistedNextSeq)
        await this.writeState(Math.max(seq + SEQ_BLOCK, this.persistedNextSeq));

      for (const victim of victims) await this.removeRecord(victim);
      const record: TTelemetrySample = { seq, spoolDropped: this.state.dropped, ...collected };
      const json = JSON.stringify(record);
      await this.writeAtomic(this.recordPath(seq), json);
      const entry: TIndexEntry = { seq, bytes: Buffer.byteLength(json) };
      this.index.push(entry);
      this.bytes += entry.bytes;
      this.keepInMemory(entry, record);
      return record;
    });
  }

  /**
   * Up to `limit` records and `maxBytes` of record files (at least one record whatever its size),
   * oldest first, without removing them. Damaged records are discarded.
   */
  peek(limit: number, maxBytes = Number.POSITIVE_INFINITY): Promise<TTelemetrySample[]> {
    return this.exclusive(async () => {
      const out: TTelemetrySample[] = [];
      let corruptFound = 0;
      let bytes = 0;
      let i = 0;
      while (out.length < limit && i < this.index.length) {
        const entry = this.index[i];
        if (!entry) break;
        if (out.length > 0 && bytes + entry.bytes > maxBytes) break;
        bytes += entry.bytes;
        // reconcile() may have renumbered it since: the entry's seq is the record's.
        const record = entry.record ? { ...entry.record, seq: entry.seq } : await this.readRecord(entry.seq);
        if (record) {
          out.push(record);
          i += 1;
        } else {
          await this.removeRecord(entry);
          corruptFound += 1;
        }
      }
      if (corruptFound > 0) {
        this.state = { ...this.state, corrupt: this.state.corrupt + corruptFound };
        await this.writeState();
      }
      return out;
    });
  }

  /** Deletes every record with seq ≤ upToSeq (the console has them). Returns how many went. */
  ack(upToSeq: number): Promise<number> {
    return this.exclusive(async () => {
      let removed = 0;
      while (this.index[0] && this.index[0].seq <= upToSeq) {
        await this.removeRecord(this.index[0]);
        removed += 1;
      }
      return removed;
    });
  }

  /**
   * Sets aside the record `seq` (the console refused it on its own and always will): it goes to
   * quarantine/ with the reason, leaves the spool, and is counted. Returns false when no such record.
   */
  quarantine(seq: number, reason: string): Promise<boolean> {
    return this.exclusive(async () => {
      const entry = this.index.find((e) => e.seq === seq);
      if (!entry) return false;
      const record = entry.record ? { ...entry.record, seq } : await this.readRecord(seq);
      await mkdir(this.quarantineDir, { recursive: true });
      // Counted before the record leaves: a crash in between counts it twice, never not at all.
      this.state = {
        ...this.state,
        quarantined: (this.state.quarantined ?? 0) + 1,
        quarantineReason: reason.slice(0, 2000),
      };
      await this.writeState();
      await this.writeAtomic(
        this.quarantinePath(seq),
        JSON.stringify({ reason, quarantinedAt: new Date().toISOString(), sample: record }),
      );
      await this.removeRecord(entry);
      const kept = (await readdir(this.quarantineDir)).filter((n) => RECORD_NAME.test(n)).sort();
      for (const name of kept.slice(0, Math.max(0, kept.length - QUARANTINE_FILES))) {
        await unlink(path.join(this.quarantineDir, name)).catch(() => undefined);
      }
      return true;
    });
  }

  /**
   * Tells the spool the console's acceptedUpTo for this node. An unconfirmed spool renumbers every
   * record it numbered since its state file was recreated and that the console would take for a
   * duplicate, keeping their order, above acceptedUpTo; either way nextSeq moves past it, so no new
   * sample is numbered below what the console has.
   */
  reconcile(acceptedUpTo: number): Promise<TReconcileResult> {
    return this.exclusive(async () => {
      const from = this.state.unconfirmedFrom ?? null;
      const jumped = from === null && acceptedUpTo >= this.state.nextSeq;
      // newSeq ≥ oldSeq and strictly increasing, so renaming from the highest down never lands on
      // a name still in use. The plan is the same if a crash makes us run it again.
      const plan: { entry: TIndexEntry; to: number }[] = [];
      let next = acceptedUpTo + 1;
      if (from !== null) {
        for (const entry of this.index) {
          if (entry.seq < from) continue;
          const to = Math.max(entry.seq, next);
          next = to + 1;
          if (to !== entry.seq) plan.push({ entry, to });
        }
      }
      const nextSeq = Math.max(this.state.nextSeq, acceptedUpTo + 1, next);
      if (!Number.isSafeInteger(nextSeq))
        throw new Error(`acceptedUpTo ${acceptedUpTo} leaves no safe sequence number`);
      // nextSeq first: whatever happens next, no new sample can get one of the target numbers.
      this.state = { ...this.state, nextSeq };
      await this.writeState();
      for (const { entry, to } of plan.reverse()) {
        // Only the name moves (atomically); the record keeps its original seq inside, and the name wins.
        await rename(this.recordPath(entry.seq), this.recordPath(to));
        entry.seq = to;
      }
      if (plan.length > 0 && this.durable) await syncDirectory(this.recordsDir);
      this.state = { ...this.state, unconfirmedFrom: null };
      await this.writeState();
      return { renumbered: plan.length, jumped };
    });
  }

  stats(): TSpoolStats {
    return {
      records: this.index.length,
      bytes: this.bytes,
      dropped: this.state.dropped,
      corrupt: this.state.corrupt,
      quarantined: this.state.quarantined ?? 0,
      nextSeq: this.state.nextSeq,
      unconfirmed: (this.state.unconfirmedFrom ?? null) !== null,
      oldestSeq: this.index[0]?.seq ?? null,
      newestSeq: this.index.at(-1)?.seq ?? null,
      stateRecovered: this.stateRecovered,
    };
  }

  /** Waits for queued operations and releases the lock. The spool cannot be used afterwards. */
  close(): Promise<void> {
    return this.exclusive(async () => {
      this.closed = true;
      // The exact next seq, so a clean stop skips none of the reserved block (best effort: a gap is harmless).
      if (this.persistedNextSeq > this.state.nextSeq) await this.writeState(this.state.nextSeq).catch(() => undefined);
      await unlink(this.lockPath).catch(() => undefined);
      openDirs.delete(this.dir);
    });
  }

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new Error('Spool is closed');
      return operation();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<void> {
    let fileState: TSpoolState | null = null;
    try {
      fileState = ZSpoolState.parse(JSON.parse(await readFile(this.statePath, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.stateRecovered = true;
    }

    const entries: TIndexEntry[] = [];
    for (const name of await readdir(this.recordsDir)) {
      const file = path.join(this.recordsDir, name);
      // Leftovers of a write that never reached its rename.
      if (name.endsWith('.tmp')) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      const match = RECORD_NAME.exec(name);
      if (!match?.[1]) continue;
      entries.push({ seq: Number(match[1]), bytes: (await stat(file)).size });
    }
    entries.sort((a, b) => a.seq - b.seq);
    this.index = entries;
    this.bytes = entries.reduce((sum, e) => sum + e.bytes, 0);

    const afterFiles = (entries.at(-1)?.seq ?? 0) + 1;
    if (fileState) {
      this.state = { ...fileState, nextSeq: Math.max(fileState.nextSeq, afterFiles) };
    } else {
      // With state.json damaged, the highest seq ever used may belong to a record already sent and
      // deleted. Jump to a time-derived floor (µs since epoch, safe integer until year 2255), which
      // is above any seq a node can have used at one sample per millisecond or slower.
      const floor = this.stateRecovered ? Date.now() * 1000 : 1;
      const nextSeq = Math.max(afterFiles, floor);
      // The records on disk are numbered as the console knows them; what comes from here on is new.
      this.state = { version: 1, nextSeq, dropped: 0, corrupt: 0, unconfirmedFrom: nextSeq };
    }
    await this.writeState();
  }

  private async readRecord(seq: number): Promise<TTelemetrySample | null> {
    try {
      const parsed = ZTelemetrySample.safeParse(JSON.parse(await readFile(this.recordPath(seq), 'utf8')));
      // reconcile() renumbers by renaming: the name is the seq; the one inside can only be lower.
      return parsed.success && parsed.data.seq <= seq ? { ...parsed.data, seq } : null;
    } catch {
      return null;
    }
  }

  private async removeRecord(entry: TIndexEntry): Promise<void> {
    await unlink(this.recordPath(entry.seq)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    const at = this.index.indexOf(entry);
    if (at >= 0) {
      this.index.splice(at, 1);
      this.bytes -= entry.bytes;
    }
    this.forget(entry);
  }

  /** Keeps the newest records in memory, dropping the oldest kept ones past memoryBytes. */
  private keepInMemory(entry: TIndexEntry, record: TTelemetrySample): void {
    if (entry.bytes > this.memoryBytes) return;
    entry.record = record;
    this.inMemory.push(entry);
    this.inMemoryBytes += entry.bytes;
    while (this.inMemoryBytes > this.memoryBytes) this.forget(this.inMemory.shift()!);
    // Entries forgotten by removeRecord stay in the list until they reach its front.
    while (this.inMemory.length > 0 && !this.inMemory[0]!.record) this.inMemory.shift();
  }

  private forget(entry: TIndexEntry): void {
    if (!entry.record) return;
    entry.record = undefined;
    this.inMemoryBytes -= entry.bytes;
  }

  private recordPath(seq: number): string {
    return path.join(this.recordsDir, `${String(seq).padStart(SEQ_DIGITS, '0')}.json`);
  }

  private quarantinePath(seq: number): string {
    return path.join(this.quarantineDir, `${String(seq).padStart(SEQ_DIGITS, '0')}.json`);
  }

  /**
   * Writes state.json. Its nextSeq must stay above every seq handed out: by default the larger of
   * the next seq and what the file held (append reserves a block above it, close writes the next seq).
   */
  private async writeState(nextSeq = Math.max(this.state.nextSeq, this.persistedNextSeq)): Promise<void> {
    await this.writeAtomic(this.statePath, JSON.stringify({ ...this.state, nextSeq }));
    this.persistedNextSeq = nextSeq;
  }

  private async writeAtomic(file: string, data: string): Promise<void> {
    const tmp = `${file}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data, 'utf8');
      if (this.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    if (this.durable) await syncDirectory(path.dirname(file));
  }

  /**
   * One process per spool: two agents appending to one directory would hand out the same seq.
   * A lock whose pid is dead is taken over (the previous agent crashed).
   */
  private async acquireLock(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const handle = await open(this.lockPath, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number((await readFile(this.lockPath, 'utf8').catch(() => '')).trim());
        // Our own pid here is a lock left by an instance of this process that was never closed.
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
          throw new Error(`spool ${this.dir} is in use by process ${holder}`, { cause: error });
        }
        await unlink(this.lockPath).catch(() => undefined);
      }
    }
    throw new Error(`could not lock spool ${this.dir}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable; not every platform allows fsync on a directory.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort.
  }
}
