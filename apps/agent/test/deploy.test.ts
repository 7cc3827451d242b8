/**
 * The examples under deploy/ are checked by the tools that will read them: systemd-analyze for
 * the console unit, nginx -t for the proxy, promtool for the Prometheus config. They live here
 * because deploy/ is not a workspace package.
 */
import { CONSOLE_NODE_ARGS } from '../../../scripts/lib/console-node-args.mjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toolOrSkip as findTool, type TSkipContext } from './helpers/debian-tool';

const toolOrSkip = (ctx: TSkipContext, command: string, debianPackage: string) =>
  findTool(ctx, command, debianPackage, 'deploy tests');

const deploy = resolve(import.meta.dirname, '../../../deploy');
const read = (p: string) => readFileSync(join(deploy, p), 'utf8');

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'coolant-deploy-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('deploy/systemd/coolant-console.service', () => {
  const unit = read('systemd/coolant-console.service');

  it('npm start and the unit pass the console node flags of scripts/lib/console-node-args.mjs', () => {
    const root = resolve(deploy, '..');
    const scripts = (p: string) =>
      (JSON.parse(readFileSync(join(root, p), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const flags = CONSOLE_NODE_ARGS.join(' ');
    expect(scripts('package.json').start).toBe(`node ${flags} scripts/start.mjs`);
    expect(scripts('apps/console/package.json').start).toBe(`node ${flags} ../../scripts/start.mjs`);
    expect(unit.split('\n')).toContain(`ExecStart=/usr/bin/node ${flags} scripts/start.mjs`);
  });

  it('runs scripts/start.mjs from /opt/coolant with the environment file, hardened', () => {
    for (const line of [
      'WorkingDirectory=/opt/coolant',
      'EnvironmentFile=/etc/coolant/console.env',
      `ExecStart=/usr/bin/node ${CONSOLE_NODE_ARGS.join(' ')} scripts/start.mjs`,
      'StateDirectory=coolant',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'KillMode=mixed',
    ]) {
      expect(unit.split('\n'), line).toContain(line);
    }
    expect(unit).toMatch(/^Environment=.*COOLANT_DATA_DIR=\/var\/lib\/coolant/m);
  });

  it('passes systemd-analyze verify', (ctx) => {
    const analyze = toolOrSkip(ctx, 'systemd-analyze', 'systemd');
    withTempDir((dir) => {
      // verify needs ExecStart's program to exist: use this machine's node.
      const path = join(dir, 'coolant-console.service');
      writeFileSync(path, unit.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
      const r = spawnSync(analyze, ['verify', path], { encoding: 'utf8', cwd: dir });
      expect({ status: r.status, output: (r.stdout + r.stderr).trim() }).toEqual({ status: 0, output: '' });
    });
  });
});

describe('deploy/nginx/coolant.conf', () => {
  const conf = read('nginx/coolant.conf');

  it('redirects to https and forwards the client and the scheme to two kept-alive consoles', () => {
    expect(conf).toContain('return 301 https://$host$request_uri;');
    expect(conf).toContain('proxy_set_header X-Forwarded-Proto $scheme;');
    // Replaced, never appended: the console trusts the first address.
    expect(conf).toContain('proxy_set_header X-Forwarded-For $remote_addr;');
    expect(conf).not.toContain('$proxy_add_x_forwarded_for;');
    expect(conf.match(/^\s*server [\d.]+:\d+/gm)).toHaveLength(2);
    expect(conf).toMatch(/keepalive \d+;/);
    expect(conf).toContain('proxy_set_header Connection "";');
  });

  it('passes nginx -t with a throwaway certificate', (ctx) => {
    const nginx = toolOrSkip(ctx, 'nginx', 'nginx');
    const openssl = toolOrSkip(ctx, 'openssl', 'openssl');
    withTempDir((dir) => {
      const cert = join(dir, 'fullchain.pem');
      const key = join(dir, 'privkey.pem');
      const tls = spawnSync(
        openssl,
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=coolant.test',
        ],
        {
          encoding: 'utf8',
        },
      );
      expect(tls.status, tls.stderr).toBe(0);
      writeFileSync(
        join(dir, 'coolant.conf'),
        conf.replace('/etc/coolant/tls/fullchain.pem', cert).replace('/etc/coolant/tls/privkey.pem', key),
      );
      // Everything nginx -t would create or open goes to the temp dir, so it needs no /var/lib/nginx.
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/coolant.conf;
}
`,
      );
      const r = spawnSync(nginx, ['-t', '-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('test is successful');
    });
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  it('scrapes /metrics of two console instances and loads the alerting rules', () => {
    const yml = read('prometheus/prometheus.yml');
    expect(yml).toContain('metrics_path: /metrics');
    expect(yml.match(/^\s+- [\d.]+:\d+$/gm)).toHaveLength(2);
    expect(yml).toMatch(/^rule_files:\n\s+- coolant-rules\.yml$/m);
    // The rules name the job of this scrape config (CoolantConsoleDown reads its `up`).
    expect(yml).toContain('job_name: coolant-console');
    expect(read('prometheus/coolant-rules.yml')).toContain('up{job="coolant-console"}');
  });

  it('passes promtool check config', (ctx) => {
    const promtool = toolOrSkip(ctx, 'promtool', 'prometheus');
    const r = spawnSync(promtool, ['check', 'config', join(deploy, 'prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});

// The metric names and labels these rules read are checked against a real console in
// apps/console/test/prometheus-rules.test.ts.
describe('deploy/prometheus/coolant-rules.yml', () => {
  const rules = join(deploy, 'prometheus/coolant-rules.yml');

  it('passes promtool check rules', (ctx) => {
    const promtool = toolOrSkip(ctx, 'promtool', 'prometheus');
    const r = spawnSync(promtool, ['check', 'rules', rules], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes its promtool unit tests (each rule fires after its for, not before, and resolves)', (ctx) => {
    const promtool = toolOrSkip(ctx, 'promtool', 'prometheus');
    const tests = read('prometheus/coolant-rules.test.yml');
    // Every alert of the rules file has a test case of its own.
    const alerts = [...read('prometheus/coolant-rules.yml').matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);
    const cases = [...tests.matchAll(/^\s+- name: (\w+)$/gm)].map((m) => m[1]);
    expect(cases.sort()).toEqual(alerts.sort());
    const r = spawnSync(promtool, ['test', 'rules', join(deploy, 'prometheus/coolant-rules.test.yml')], {
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});
