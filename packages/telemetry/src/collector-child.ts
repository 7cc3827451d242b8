/**
 * The systeminformation half of a collection, run in a child process of the collector.
 *
 * It lives in its own process because systeminformation's graphics() runs nvidia-smi with
 * execFileSync and no timeout: a hung nvidia-smi would block this event loop forever. Here it
 * only blocks a process the collector can SIGKILL, group and all.
 *
 * Value imports stay limited to systeminformation and node builtins, so this module is cheap to
 * bundle into a packaged agent and compiles to JavaScript without the rest of the package.
 */
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import * as si from 'systeminformation';
import type { THostOs, TPciGpu } from './schema.ts';
import type { TWorkerHostMetrics, TWorkerMessage, TWorkerRequest } from './si-worker-protocol.ts';

/**
 * si.currentLoad() measures since its previous call, and its first call in a process measures
 * since boot. Priming at start and waiting at least this long before the first real reading makes
 * even a one-shot collection report current load, not a since-boot average.
 */
const MIN_LOAD_WINDOW_MS = 250;

let primedAt: Promise<number> | null = null;
// osInfo runs several commands and the answer cannot change without a reboot (or a restarted worker).
let osInfo: Promise<THostOs | null> | null = null;

/**
 * Serves collection requests from the parent collector over this process's IPC channel, until
 * the channel closes. Importing this module does nothing; a packaged agent that runs the same
 * file in several roles calls this in its collector role.
 */
export function runCollectorChild(): void {
  if (!process.send) throw new Error('the collector child must be started by the collector, with an IPC channel');
  if (primedAt) return;
  primedAt = si.currentLoad().then(
    () => Date.now(),
    () => Date.now(),
  );
  process.on('message', (message: unknown) => {
    const request = message as TWorkerRequest | null;
    if (request?.type === 'collect' && typeof request.id === 'number') void collect(request.id);
  });
  // The collector went away without killing us (it normally does); do not linger.
  process.on('disconnect', () => process.exit(0));
}

async function collect(id: number): Promise<void> {
  try {
    await send({ type: 'host', id, ok: true, host: await hostMetrics() });
  } catch (error) {
    await send({ type: 'host', id, ok: false, error: describe(error) });
  }
  // Sequential on purpose: graphics() may block this process for good, and the host metrics
  // above must have left before it does.
  try {
    await send(await inventory(id));
  } catch (error) {
    await send({ type: 'inventory', id, status: 'failed', error: describe(error) });
  }
}

async function hostMetrics(): Promise<TWorkerHostMetrics> {
  const wait = (await (primedAt ?? Date.now())) + MIN_LOAD_WINDOW_MS - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  osInfo ??= si.osInfo().then(
    (o): THostOs => ({ platform: o.platform || null, distro: o.distro || null, release: o.release || null, kernel: o.kernel || null, arch: o.arch || null }),
    () => null,
  );
  const [load, mem, os] = await Promise.all([si.currentLoad(), si.mem(), osInfo]);
  return {
    cpuLoadPercent: finiteOrNull(load.currentLoad),
    // `active` is total − MemAvailable on Linux; `used` would count reclaimable page cache.
    memUsedBytes: finiteOrNull(mem.active),
    memTotalBytes: finiteOrNull(mem.total),
    os,
  };
}

async function inventory(id: number): Promise<TWorkerMessage> {
  // Without lspci, graphics() returns no controller at all (and never runs nvidia-smi), which
  // would read as "this host has no GPU". Say "unknown" instead.
  const searchedPath = process.env['PATH'] ?? '';
  if (!(await onPath('lspci', searchedPath))) return { type: 'inventory', id, status: 'no-lspci', searchedPath };
  const graphics = await si.graphics();
  const controllers: TPciGpu[] = graphics.controllers.map((c) => ({
    busAddress: c.busAddress || null,
    vendor: c.vendor || null,
    model: c.model || null,
    // graphics() overwrites vram with nvidia-smi's memory.total when it has one; otherwise it is
    // the largest PCI memory region, which is a BAR size, not memory.
    vramMiB: typeof c.vram === 'number' && Number.isFinite(c.vram) ? c.vram : null,
  }));
  return { type: 'inventory', id, status: 'ok', controllers };
}

async function onPath(command: string, searchPath: string): Promise<boolean> {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    try {
      await access(path.join(dir, command), fsConstants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

function send(message: TWorkerMessage): Promise<void> {
  // Waiting for the callback means the message has been handed to the OS before a possible
  // execFileSync freezes this process.
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });
}

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
