import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  agentEnvProblems,
  consoleEnvRows,
  END_MARKER,
  README_PATH,
  renderEnvTable,
  START_MARKER,
  withEnvTable,
} from '../../../scripts/env-table';
import { ZConsoleEnv } from '../server/env';

describe('README environment table', () => {
  it('is the table generated from ZConsoleEnv and the agent USAGE', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readme, `README.md needs ${START_MARKER} … ${END_MARKER}`).toContain(START_MARKER);
    // Compared as a whole, so the message can say what to do rather than only show a diff.
    const fresh = withEnvTable(readme, renderEnvTable()) === readme;
    expect(fresh, 'README.md: the environment table is stale; run `npm run docs:env` and commit README.md').toBe(true);
  });

  it('has a row for every field of ZConsoleEnv', () => {
    expect(consoleEnvRows().map((r) => r.variable)).toEqual(Object.keys(ZConsoleEnv.shape));
  });

  it("documents exactly the variables the agent's parseConfig reads, each doing what its flag does", () => {
    expect(agentEnvProblems()).toEqual([]);
  });
});
