import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runInstallCommand } from '../src/install/cli';
import {
  installAgent,
  InstallError,
  uninstallAgent,
  type TInstallHost,
  type TRunOptions,
  type TRunResult,
} from '../src/install/install';
import { AGENT_INSTALL, quoteExecArg, renderAgentUnit } from '../src/install/unit';
import { toolOrSkip } from './helpers/debian-tool';

const SERVER = 'https://console.example:3000';
const ENROLL_TOKEN = 'enroll-secret-0123456789abcdef';

/** The unit's directives, comments dropped, as key → values (a key may repeat). */
function directives(unit: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!]);
  }
  return map;
}

describe('renderAgentUnit', () => {
  const unit = renderAgentUnit({ server: SERVER });
  const d = directives(unit);

  it('runs the installed executable against the server with the systemd state directory', () => {
    expect(d.get('ExecStart')).toEqual([
      `/usr/local/bin/coolant-agent --server ${SERVER} --state-dir /var/lib/coolant-agent`,
    ]);
    expect(d.get('User')).toEqual(['coolant-agent']);
    expect(d.get('StateDirectory')).toEqual(['coolant-agent']);
    expect(renderAgentUnit({ server: SERVER, intervalSeconds: 30 })).toContain(
      '--state-dir /var/lib/coolant-agent --interval 30\n',
    );
  });

  it('is hardened, restarts, and stops the way the agent does', () => {
    const expected: Record<string, string> = {
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      Restart: 'always',
      RestartSec: '5',
      KillSignal: 'SIGTERM',
      TimeoutStopSec: '10',
      CapabilityBoundingSet: '',
      WantedBy: 'multi-user.target',
    };
    for (const [key, value] of Object.entries(expected)) expect(d.get(key), key).toEqual([value]);
  });

  it('leaves the GPU device nodes reachable for nvidia-smi', () => {
    // PrivateDevices hides /dev/nvidia*; DeviceAllow (also implied by ProtectClock) allows only what it lists.
    for (const key of ['PrivateDevices', 'DevicePolicy', 'DeviceAllow', 'ProtectClock', 'MemoryDenyWriteExecute'])
      expect(d.has(key), key).toBe(false);
    expect(
      directives(renderAgentUnit({ server: SERVER, supplementaryGroups: ['video'] })).get('SupplementaryGroups'),
    ).toEqual(['video']);
  });

  it('escapes what systemd would expand or split in ExecStart', () => {
    expect(quoteExecArg('http://c:3000/a%20b')).toBe('http://c:3000/a%%20b');
    expect(quoteExecArg('a$HOME')).toBe('a$$HOME');
    expect(quoteExecArg('a b"c\\')).toBe('"a b\\"c\\\\"');
    expect(() => quoteExecArg('http://c/\nExecStartPre=/bin/sh')).toThrow(/control characters/);
    expect(() => renderAgentUnit({ server: SERVER, executablePath: 'coolant-agent' })).toThrow(/absolute/);
  });

  it('passes systemd-analyze verify, with a low exposure score', (ctx) => {
    const analyze = toolOrSkip(ctx, 'systemd-analyze', 'systemd', 'install tests');
    const dir = mkdtempSync(join(tmpdir(), 'coolant-unit-'));
    try {
      // verify checks that ExecStart's program exists and is executable.
      const exe = join(dir, 'coolant-agent');
      writeFileSync(exe, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      const unitPath = join(dir, AGENT_INSTALL.unitName);
      writeFileSync(
        unitPath,
        renderAgentUnit({
          server: `${SERVER}/a%20b`,
          intervalSeconds: 7,
          executablePath: exe,
          supplementaryGroups: ['video'],
        }),
      );
      const verify = spawnSync(analyze, ['verify', unitPath], { encoding: 'utf8', cwd: dir });
      // verify exits 0 on unknown keys and bad values too; only silence means a clean unit.
      expect({ status: verify.status, output: (verify.stdout + verify.stderr).trim() }).toEqual({
        status: 0,
        output: '',
      });

      const security = spawnSync(analyze, ['security', '--offline=true', unitPath], { encoding: 'utf8', cwd: dir });
      const score = /Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout);
      if (!score) {
        console.warn(
          `[install tests] systemd-analyze security --offline is not supported here: ${security.stderr.trim()}`,
        );
        return;
      }
      console.log(
        `[install tests] systemd-analyze security: exposure ${score[1]} (0 = most restricted, 10 = unprotected)`,
      );
      expect(Number(score[1])).toBeLessThan(3.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

type TCall = { command: string; args: readonly string[]; options: TRunOptions | undefined };

/** A host under a temp root whose commands are recorded; useradd and the enrollment are faked. */
function fakeHost(opts: { euid?: number; userExists?: boolean; active?: boolean; enrollFails?: boolean } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'coolant-install-'));
  const calls: TCall[] = [];
  const logs: string[] = [];
  let userExists = opts.userExists ?? false;
  const ok = (stdout = ''): TRunResult => ({ code: 0, stdout, stderr: '' });
  const host: TInstallHost = {
    root,
    euid: opts.euid ?? 0,
    log: (line) => logs.push(line),
    run: async (command, args, options) => {
      calls.push({ command, args, options });
      if (command === 'id') {
        if (!userExists) return { code: 1, stdout: '', stderr: `id: 'coolant-agent': no such user` };
        // Our own ids, so chown works without root.
        return ok(`${args[0] === '-u' ? process.getuid!() : process.getgid!()}\n`);
      }
      if (command === 'useradd') userExists = true;
      if (command === 'userdel') userExists = false;
      if (command === 'systemctl' && args[0] === 'is-active')
        return { code: opts.active ? 0 : 3, stdout: '', stderr: '' };
      if (command === join(root, AGENT_INSTALL.executablePath)) {
        if (opts.enrollFails) return { code: 1, stdout: '', stderr: '[agent] enrollment refused: bad secret' };
        const stateDir = args[args.indexOf('--state-dir') + 1]!;
        writeFileSync(
          join(stateDir, 'node.json'),
          JSON.stringify({ server: SERVER, nodeId: 'n1', nodeToken: 'node-token' }),
          { mode: 0o600 },
        );
      }
      return ok();
    },
  };
  const source = join(root, 'source-coolant-agent');
  writeFileSync(source, 'fake single executable\n', { mode: 0o755 });
  return { root, host, calls, logs, source };
}

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function setUp(opts?: Parameters<typeof fakeHost>[0]) {
  const f = fakeHost(opts);
  roots.push(f.root);
  return f;
}

const commandLines = (calls: TCall[]) =>
  calls.filter((c) => !c.command.startsWith('/')).map((c) => [c.command, ...c.args].join(' '));

describe('installAgent', () => {
  it('creates the user, installs, enrolls as that user and enables the unit, keeping the secret out of every file and argv', async () => {
    const { root, host, calls, source } = setUp();
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nvideo:x:44:\n');

    await installAgent(
      { server: SERVER, enrollToken: ENROLL_TOKEN, intervalSeconds: 10, sourceExecutable: source },
      host,
    );

    expect(commandLines(calls)).toEqual([
      'id -u coolant-agent',
      'useradd --system --user-group --no-create-home --home-dir /var/lib/coolant-agent --shell /usr/sbin/nologin --comment Coolant agent coolant-agent',
      'id -u coolant-agent',
      'id -g coolant-agent',
      'systemctl daemon-reload',
      'systemctl is-active --quiet coolant-agent.service',
      'systemctl enable --now coolant-agent.service',
    ]);
    const exe = join(root, AGENT_INSTALL.executablePath);
    expect(readFileSync(exe, 'utf8')).toBe('fake single executable\n');
    expect(statSync(exe).mode & 0o777).toBe(0o755);

    const enroll = calls.find((c) => c.command === exe)!;
    expect(enroll.args).toEqual(['--server', SERVER, '--state-dir', join(root, AGENT_INSTALL.stateDir), '--once']);
    expect(enroll.options?.env?.COOLANT_ENROLL_TOKEN).toBe(ENROLL_TOKEN);
    expect(enroll.options?.uid).toBe(process.getuid!());

    const unitPath = join(root, AGENT_INSTALL.unitPath);
    const unit = readFileSync(unitPath, 'utf8');
    expect(unit).toBe(renderAgentUnit({ server: SERVER, intervalSeconds: 10, supplementaryGroups: ['video'] }));
    expect(unit).not.toContain(ENROLL_TOKEN);
    expect(statSync(unitPath).mode & 0o777).toBe(0o644);
    expect(statSync(join(root, AGENT_INSTALL.stateDir)).mode & 0o777).toBe(0o700);
    // The service user walks through /var/lib to reach it.
    expect(statSync(join(root, 'var/lib')).mode & 0o777).toBe(0o755);
    expect(existsSync(join(root, AGENT_INSTALL.stateDir, 'node.json'))).toBe(true);
  });

  it('upgrades in place: no new user, and a running service is restarted onto the new executable', async () => {
    const { host, calls, source } = setUp({ userExists: true, active: true });
    await installAgent({ server: SERVER, enrollToken: ENROLL_TOKEN, sourceExecutable: source }, host);
    const lines = commandLines(calls);
    expect(lines).not.toContain(expect.stringMatching(/^useradd/));
    expect(lines.slice(-2)).toEqual([
      'systemctl enable coolant-agent.service',
      'systemctl restart coolant-agent.service',
    ]);
  });

  it('sets nothing up when the enrollment fails', async () => {
    const { root, host, calls, source } = setUp({ enrollFails: true });
    await expect(
      installAgent({ server: SERVER, enrollToken: 'wrong-secret-0123456', sourceExecutable: source }, host),
    ).rejects.toThrow(/enrollment failed.*\n.*refused/);
    expect(existsSync(join(root, AGENT_INSTALL.unitPath))).toBe(false);
    expect(commandLines(calls).filter((l) => l.startsWith('systemctl'))).toEqual([]);
  });

  it('refuses to run without root', async () => {
    const { host, calls, source } = setUp({ euid: 1000 });
    await expect(
      installAgent({ server: SERVER, enrollToken: ENROLL_TOKEN, sourceExecutable: source }, host),
    ).rejects.toThrow(InstallError);
    await expect(uninstallAgent({ purge: false }, host)).rejects.toThrow(/must run as root/);
    expect(calls).toEqual([]);
  });
});

describe('uninstallAgent', () => {
  it('stops, disables and removes the service and the executable, and keeps the identity', async () => {
    const { root, host, calls, source } = setUp();
    await installAgent({ server: SERVER, enrollToken: ENROLL_TOKEN, sourceExecutable: source }, host);
    calls.length = 0;
    await uninstallAgent({ purge: false }, host);
    expect(commandLines(calls)).toEqual([
      'systemctl disable --now coolant-agent.service',
      'systemctl daemon-reload',
      'systemctl reset-failed coolant-agent.service',
    ]);
    expect(existsSync(join(root, AGENT_INSTALL.unitPath))).toBe(false);
    expect(existsSync(join(root, AGENT_INSTALL.executablePath))).toBe(false);
    expect(existsSync(join(root, AGENT_INSTALL.stateDir, 'node.json'))).toBe(true);
  });

  it('with purge also removes the state and the user', async () => {
    const { root, host, calls, source } = setUp();
    await installAgent({ server: SERVER, enrollToken: ENROLL_TOKEN, sourceExecutable: source }, host);
    calls.length = 0;
    await uninstallAgent({ purge: true }, host);
    expect(commandLines(calls).slice(-2)).toEqual(['id -g coolant-agent', 'userdel coolant-agent']);
    expect(existsSync(join(root, AGENT_INSTALL.stateDir))).toBe(false);
  });
});

describe('coolant-agent install / uninstall (CLI)', () => {
  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, output: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) } };
  }

  it('--print-unit prints the unit and installs nothing, without root or a token', async () => {
    const { host, calls } = setUp({ euid: 1000 });
    const c = capture();
    expect(
      await runInstallCommand(
        ['install', '--server', `${SERVER}/`, '--interval', '15', '--print-unit'],
        {},
        host,
        c.output,
      ),
    ).toBe(0);
    expect(c.out.join('')).toBe(renderAgentUnit({ server: SERVER, intervalSeconds: 15 }));
    expect(calls).toEqual([]);
  });

  it('takes the secret from COOLANT_ENROLL_TOKEN and the executable from --binary', async () => {
    const { root, host, calls, source } = setUp();
    const c = capture();
    expect(
      await runInstallCommand(
        ['install', '--server', SERVER, '--binary', source],
        { COOLANT_ENROLL_TOKEN: ENROLL_TOKEN },
        host,
        c.output,
      ),
    ).toBe(0);
    expect(
      calls.find((x) => x.command === join(root, AGENT_INSTALL.executablePath))?.options?.env?.COOLANT_ENROLL_TOKEN,
    ).toBe(ENROLL_TOKEN);
    expect(await runInstallCommand(['uninstall', '--purge'], {}, host, c.output)).toBe(0);
    expect(existsSync(join(root, AGENT_INSTALL.stateDir))).toBe(false);
  });

  it('answers bad input with usage (exit 2) and failures with a message (exit 1)', async () => {
    const { host, source } = setUp({ enrollFails: true });
    const c = capture();
    expect(await runInstallCommand(['install', '--server', 'ftp://x', '--print-unit'], {}, host, c.output)).toBe(2);
    expect(await runInstallCommand(['install', '--server', SERVER, '--binary', source], {}, host, c.output)).toBe(2);
    expect(
      await runInstallCommand(
        ['install', '--server', SERVER, '--interval', 'soon', '--print-unit'],
        {},
        host,
        c.output,
      ),
    ).toBe(2);
    expect(await runInstallCommand(['uninstall', '--bogus'], {}, host, c.output)).toBe(2);
    // Not the single executable (tests run from source) and no --binary.
    expect(
      await runInstallCommand(['install', '--server', SERVER, '--enroll-token', ENROLL_TOKEN], {}, host, c.output),
    ).toBe(2);
    expect(c.err.join('')).toMatch(/single executable/);
    expect(
      await runInstallCommand(
        ['install', '--server', SERVER, '--enroll-token', ENROLL_TOKEN, '--binary', source],
        {},
        host,
        c.output,
      ),
    ).toBe(1);
    expect(c.err.at(-1)).toMatch(/enrollment failed/);
  });
});
