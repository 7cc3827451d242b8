/**
 * Children that may hang are started with `detached: true`, which on Linux makes each one the
 * leader of a new process group (setsid). Killing the negative pid then reaches everything it
 * started too: the nvidia-smi that systeminformation runs inside the worker, or the shell and
 * lspci its exec() spawns. Killing only the direct child would orphan a hung nvidia-smi.
 */
export function killProcessGroup(pid: number | undefined): void {
  if (pid === undefined || pid <= 0) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
    // No process groups (not Linux/macOS): fall back to the child alone.
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Groups still alive when this process exits. An 'exit' hook can only run synchronous code, which
 * process.kill is, so a worker stuck in execFileSync does not outlive the agent.
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

export function trackProcessGroup(pid: number): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups) killProcessGroup(group);
    });
  }
  liveGroups.add(pid);
  return () => liveGroups.delete(pid);
}
