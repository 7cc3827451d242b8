/**
 * The systeminformation half of a collection: the PCI inventory (graphics(), which runs lspci and
 * nvidia-smi), run in a short-lived child process of the collector, started when an inventory is
 * due and gone once it has answered.
 *
 * It lives in its own process because graphics() runs nvidia-smi with execFileSync and no
 * timeout: a hung nvidia-smi would block this event loop forever. Here it only blocks a process
 * the collector can SIGKILL, group and all. Host metrics (CPU, memory, OS) do not need it: the
 * agent reads them from /proc itself (host-metrics.ts).
 *
 * Value imports stay limited to systeminformation and node builtins, so this module is cheap to
 * bundle into a packaged agent and compiles to JavaScript without the rest of the package.
 */
import * as si from 'systeminformation';
import type { TPciGpu } from './schema.ts';
import type { TWorkerMessage, TWorkerRequest } from './si-worker-protocol.ts';

let started = false;

/**
 * Answers the collector's one inventory request over this process's IPC channel, then exits.
 * Importing this module does nothing; a packaged agent that runs the same file in several roles
 * calls this in its collector role.
 */
export function runCollectorChild(): void {
  if (!process.send) throw new Error('the collector child must be started by the collector, with an IPC channel');
  if (started) return;
  started = true;
  process.on('message', (message: unknown) => {
    const request = message as TWorkerRequest | null;
    if (request?.type === 'inventory' && typeof request.id === 'number') void answer(request.id);
  });
  // The collector went away without killing us (it normally does); do not linger.
  process.on('disconnect', () => process.exit(0));
}

async function answer(id: number): Promise<void> {
  let message: TWorkerMessage;
  try {
    message = await inventory(id);
  } catch (error) {
    message = {
      type: 'inventory',
      id,
      status: 'failed',
      error: error instanceof Error ? error.message : String(error),
    };
  }
  // Exit only once the answer has been handed to the OS: nothing of this process stays resident.
  process.send?.(message, undefined, undefined, () => process.exit(0));
}

async function inventory(id: number): Promise<TWorkerMessage> {
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
