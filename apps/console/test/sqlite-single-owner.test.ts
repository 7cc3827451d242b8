/**
 * One console per SQLite file, even when two start at the same moment: the owner check and
 * the claim are one IMMEDIATE transaction (packages/api/src/services.ts), so exactly one of two
 * simultaneous starts runs and the other exits saying why. Real console processes, fresh and
 * existing data dirs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConsole, type TConsoleProcess } from './support/console-process';

const ROUNDS = 4;

describe('two consoles started at once on one SQLite file', () => {
  const running: TConsoleProcess[] = [];
  beforeAll(async () => {
    // Builds the console if its build is stale, so the racing starts below do not also race a build.
    const warm = await startConsole();
    await warm.stop();
  });
  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop()));
  });

  test(`exactly one runs, the other exits with the reason (${ROUNDS} rounds, fresh and existing databases)`, async () => {
    let dataDir = '';
    for (let round = 0; round < ROUNDS; round++) {
      // Even rounds: a fresh data dir (both also race the migrations and the first admin); odd: the previous round's.
      if (round % 2 === 0) dataDir = mkdtempSync(join(tmpdir(), 'coolant-race-'));
      const results = await Promise.allSettled([
        startConsole({ dataDir, timeoutMs: 180_000 }),
        startConsole({ dataDir, timeoutMs: 180_000 }),
      ]);
      const up = results
        .filter((r): r is PromiseFulfilledResult<TConsoleProcess> => r.status === 'fulfilled')
        .map((r) => r.value);
      const refused = results
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => String((r.reason as Error).message));
      running.push(...up);
      expect({ round, up: up.length, refused: refused.length }).toEqual({ round, up: 1, refused: 1 });
      expect(refused[0]).toMatch(/console exited with 1/);
      expect(refused[0]).toMatch(/another console .*SQLite supports one console process/);
      expect((await fetch(`${up[0]!.url}/api/health`)).status).toBe(200);
      await up[0]!.stop();
      running.splice(running.indexOf(up[0]!), 1);
    }
  });
});
