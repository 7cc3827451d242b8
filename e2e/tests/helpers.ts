import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ADMIN_PASSWORD = 'e2e-admin-password';
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
export const ENROLL_TOKEN = 'e2e-enroll-token-0123456789';

export async function login(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Each test makes its own user through the API, so tests share no state. */
export async function createUser(request: APIRequestContext, role: 'viewer' | 'operator' | 'admin') {
  const username = `${role}-${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const res = await request.post('/api/trpc/users.create', {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    data: { username, password, role },
  });
  expect(res.status(), await res.text()).toBe(200);
  return { username, password };
}

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * One real agent with the simulated nvidia-smi of scripts/fleet-sim, as `npm run fleet:sim` starts
 * them: the built agent bundle (`npm run build` makes it, and e2e depends on the build).
 */
export function startAgent(baseURL: string, hostname: string, profile: 'normal' | 'hot'): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), `coolant-e2e-${hostname}-`));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'nvidia-smi'),
    `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'scripts/fleet-sim/fake-nvidia-smi.mjs')}" "$@"\n`,
  );
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return spawn(
    process.execPath,
    [
      join(ROOT, 'dist/agent/coolant-agent.mjs'),
      '--server',
      baseURL,
      '--state-dir',
      join(dir, 'state'),
      '--interval',
      '1',
      '--hostname',
      hostname,
    ],
    {
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        COOLANT_ENROLL_TOKEN: ENROLL_TOKEN,
        SIM_SEED: String(hostname.length),
        SIM_GPUS: '4',
        SIM_PROFILE: profile,
      },
      stdio: 'ignore',
    },
  );
}
