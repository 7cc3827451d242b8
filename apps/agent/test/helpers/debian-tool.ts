import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type TToolLookup = { path: string; skip?: undefined } | { path?: undefined; skip: string };

function which(command: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * A system tool a deploy test checks files with (nginx, promtool, systemd-analyze). Like the e2e
 * suite's Chromium: when absent and the tests run as root on Debian, `apt-get install` its
 * package (CI starts from a clean machine); otherwise a reason to skip, which the test prints.
 */
export function findOrInstallTool(command: string, debianPackage: string): TToolLookup {
  const found = which(command);
  if (found) return { path: found };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !which('apt-get')) {
    return {
      skip: `${command} not found and cannot be installed here (needs root and apt-get); install Debian's ${debianPackage} package to run this check`,
    };
  }
  console.log(
    `[deploy tests] ${command} not found; installing Debian's ${debianPackage} package (apt-get install -y ${debianPackage})…`,
  );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Test files run in parallel and may install at the same time: one apt-get at a time across
  // processes (flock; `apt-get update` of two at once fails on the lists lock), and dpkg's lock waited for.
  const flock = which('flock');
  const aptGet = (args: string[]) =>
    flock
      ? execFileSync(flock, ['-w', '600', join(tmpdir(), 'coolant-tests-apt.lock'), 'apt-get', ...args], {
          stdio: ['ignore', 'ignore', 'inherit'],
          env,
        })
      : execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  const install = () =>
    aptGet(['install', '-y', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', debianPackage]);
  try {
    try {
      install();
    } catch {
      aptGet(['update', '-o', 'DPkg::Lock::Timeout=300']);
      install();
    }
  } catch (error) {
    return { skip: `apt-get install ${debianPackage} failed: ${(error as Error).message}` };
  }
  const installed = which(command);
  return installed
    ? { path: installed }
    : { skip: `Debian's ${debianPackage} package was installed but provides no ${command}` };
}

/** The tool's path, or the test is skipped with the reason printed (vitest's own note is easy to miss). */
export type TSkipContext = { skip: (note?: string) => never };

export function toolOrSkip(ctx: TSkipContext, command: string, debianPackage: string, label = 'tests'): string {
  const tool = findOrInstallTool(command, debianPackage);
  if (tool.skip === undefined) return tool.path;
  console.warn(`[${label}] skipped a check with ${command}: ${tool.skip}`);
  return ctx.skip(tool.skip);
}
