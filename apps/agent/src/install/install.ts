import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { AGENT_INSTALL, renderAgentUnit } from './unit';

export type TRunOptions = {
  env?: NodeJS.ProcessEnv;
  /** Run as this user (the enrollment runs as the service user, so node.json is its own). */
  uid?: number;
  gid?: number;
  cwd?: string;
};
export type TRunResult = { code: number; stdout: string; stderr: string };
export type TCommandRunner = (command: string, args: readonly string[], options?: TRunOptions) => Promise<TRunResult>;

/** Everything install and uninstall touch outside their arguments, so tests can swap it. */
export type TInstallHost = {
  /** Every path is written under this root: "/" on a host, a temp dir in tests. */
  root: string;
  /** useradd, id, systemctl and the enrollment run through this; tests record and fake them. */
  run: TCommandRunner;
  log: (line: string) => void;
  euid: number;
};

export type TInstallOptions = {
  server: string;
  enrollToken: string;
  intervalSeconds?: number;
  /** The single executable to install (normally the running one, process.execPath). */
  sourceExecutable: string;
};

export type TUninstallOptions = { purge: boolean };

export class InstallError extends Error {
  override name = 'InstallError';
}

export const runCommand: TCommandRunner = (command, args, options = {}) =>
  new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      uid: options.uid,
      gid: options.gid,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: `${stderr}${error.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });

export function defaultInstallHost(): TInstallHost {
  return {
    root: '/',
    run: runCommand,
    log: (line) => console.log(line),
    euid: typeof process.geteuid === 'function' ? process.geteuid() : -1,
  };
}

const UNIT = AGENT_INSTALL.unitName;
const USER = AGENT_INSTALL.user;
/** A PATH for commands we run, independent of the operator's shell (sudo may reset it anyway). */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function requireRoot(host: TInstallHost, what: string): void {
  if (host.euid !== 0)
    throw new InstallError(
      `${what} must run as root (it creates a system user and a systemd unit); try: sudo coolant-agent ${what} …`,
    );
}

async function must(
  host: TInstallHost,
  command: string,
  args: readonly string[],
  options?: TRunOptions,
): Promise<TRunResult> {
  const r = await host.run(command, args, { env: { PATH: SYSTEM_PATH }, ...options });
  if (r.code !== 0)
    throw new InstallError(`${[command, ...args].join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r;
}

/** Writes through a temp file and rename: a running agent keeps its old inode (no ETXTBSY). */
function replaceFile(path: string, write: (tmp: string) => void, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.${process.pid}.tmp`;
  write(tmp);
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

async function userIds(host: TInstallHost): Promise<{ uid: number; gid: number } | null> {
  const u = await host.run('id', ['-u', USER], { env: { PATH: SYSTEM_PATH } });
  if (u.code !== 0) return null;
  const g = await must(host, 'id', ['-g', USER]);
  const uid = Number(u.stdout.trim());
  const gid = Number(g.stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid))
    throw new InstallError(`cannot read the ids of user ${USER}: "${u.stdout.trim()}" "${g.stdout.trim()}"`);
  return { uid, gid };
}

/** `video` owns the GPU device nodes on hosts that set NVreg_DeviceFileGID; absent groups would fail the unit. */
function gpuGroups(root: string): string[] {
  const groupFile = join(root, 'etc/group');
  if (!existsSync(groupFile)) return [];
  const names = new Set(
    readFileSync(groupFile, 'utf8')
      .split('\n')
      .map((line) => line.split(':')[0]),
  );
  return ['video'].filter((g) => names.has(g));
}

/**
 * Installs the agent as a systemd service: a system user, the executable in /usr/local/bin, one
 * enrollment as that user (so the node token and enroll key stay on the host, not the secret), the unit, enable --now.
 * Idempotent: run again to upgrade the executable or change the server; an enrolled node keeps
 * its identity.
 */
export async function installAgent(options: TInstallOptions, host: TInstallHost = defaultInstallHost()): Promise<void> {
  requireRoot(host, 'install');
  const unitText = renderAgentUnit({
    server: options.server,
    intervalSeconds: options.intervalSeconds,
    supplementaryGroups: gpuGroups(host.root),
  });
  if (!existsSync(options.sourceExecutable)) throw new InstallError(`${options.sourceExecutable} does not exist`);
  const at = (p: string) => join(host.root, p);

  let ids = await userIds(host);
  if (!ids) {
    host.log(`Creating system user ${USER}`);
    await must(host, 'useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      AGENT_INSTALL.stateDir,
      '--shell',
      '/usr/sbin/nologin',
      '--comment',
      'Coolant agent',
      USER,
    ]);
    ids = await userIds(host);
    if (!ids) throw new InstallError(`useradd succeeded but user ${USER} does not exist`);
  }

  host.log(`Installing ${AGENT_INSTALL.executablePath}`);
  replaceFile(at(AGENT_INSTALL.executablePath), (tmp) => copyFileSync(options.sourceExecutable, tmp), 0o755);

  // systemd would create it at start; enrollment happens before, as the same user.
  const stateDir = at(AGENT_INSTALL.stateDir);
  // Parents as /var/lib is (0755): the service user must be able to walk into its directory.
  mkdirSync(dirname(stateDir), { recursive: true, mode: 0o755 });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  chownSync(stateDir, ids.uid, ids.gid);

  host.log(`Enrolling with ${options.server} (as ${USER})`);
  // The secret goes through the environment: argv is world-readable in /proc, environ is not.
  const enroll = await host.run(
    at(AGENT_INSTALL.executablePath),
    ['--server', options.server, '--state-dir', stateDir, '--once'],
    {
      env: { PATH: SYSTEM_PATH, COOLANT_ENROLL_TOKEN: options.enrollToken },
      uid: ids.uid,
      gid: ids.gid,
      // The installer's cwd (often /root) is not the service user's to enter.
      cwd: stateDir,
    },
  );
  if (enroll.code !== 0) {
    throw new InstallError(
      `enrollment failed, so the service was not set up (exit ${enroll.code}):\n${(enroll.stderr + enroll.stdout).trim()}`,
    );
  }

  host.log(`Writing ${AGENT_INSTALL.unitPath}`);
  replaceFile(at(AGENT_INSTALL.unitPath), (tmp) => writeFileSync(tmp, unitText), 0o644);
  await must(host, 'systemctl', ['daemon-reload']);
  // enable --now leaves a running service alone; an upgrade must restart it onto the new executable.
  const active =
    (await host.run('systemctl', ['is-active', '--quiet', UNIT], { env: { PATH: SYSTEM_PATH } })).code === 0;
  if (active) {
    await must(host, 'systemctl', ['enable', UNIT]);
    await must(host, 'systemctl', ['restart', UNIT]);
  } else {
    await must(host, 'systemctl', ['enable', '--now', UNIT]);
  }
  host.log(`coolant-agent is ${active ? 'restarted' : 'running'}: systemctl status ${UNIT}; journalctl -u ${UNIT}`);
}

/** Stops, disables and removes the service and the executable; the state (node token) and the user only with purge. */
export async function uninstallAgent(
  options: TUninstallOptions,
  host: TInstallHost = defaultInstallHost(),
): Promise<void> {
  requireRoot(host, 'uninstall');
  const at = (p: string) => join(host.root, p);
  const unitPath = at(AGENT_INSTALL.unitPath);

  if (existsSync(unitPath)) {
    host.log(`Stopping and disabling ${UNIT}`);
    await must(host, 'systemctl', ['disable', '--now', UNIT]);
    rmSync(unitPath, { force: true });
  } else {
    host.log(`${AGENT_INSTALL.unitPath} is not there; nothing to stop`);
  }
  await must(host, 'systemctl', ['daemon-reload']);
  // Only clears a "failed" record left by earlier crashes; fails harmlessly when there is none.
  await host.run('systemctl', ['reset-failed', UNIT], { env: { PATH: SYSTEM_PATH } });
  rmSync(at(AGENT_INSTALL.executablePath), { force: true });
  host.log(`Removed ${AGENT_INSTALL.executablePath}`);

  if (!options.purge) {
    host.log(`Kept ${AGENT_INSTALL.stateDir} (this node's identity) and user ${USER}; uninstall --purge removes them`);
    return;
  }
  rmSync(at(AGENT_INSTALL.stateDir), { recursive: true, force: true });
  host.log(`Removed ${AGENT_INSTALL.stateDir}`);
  if (await userIds(host)) {
    await must(host, 'userdel', [USER]);
    host.log(`Removed user ${USER}`);
  }
}
