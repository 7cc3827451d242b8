import { isSea } from 'node:sea';

/**
 * Replaced with "bundle" by scripts/package-agent.mjs (esbuild `define`); never defined when the
 * agent runs from its TypeScript source under tsx, hence the typeof guard below.
 */
declare const __COOLANT_PACKAGING__: string | undefined;

/** How this agent process was started: the single executable, the bundled .mjs, or tsx on the source. */
export type TPackaging = 'sea' | 'bundle' | 'source';

/**
 * One packaged file plays every process role, because a GPU host without Node has no way to
 * start a second script: a child of the agent starts the same executable with this variable set.
 */
export const AGENT_ROLE_ENV = 'COOLANT_AGENT_ROLE';
export const AGENT_ROLES = ['agent', 'collector'] as const;
export type TAgentRole = (typeof AGENT_ROLES)[number];

export function packaging(): TPackaging {
  if (isSea()) return 'sea';
  return typeof __COOLANT_PACKAGING__ === 'string' ? 'bundle' : 'source';
}

/**
 * How to fork this same program in another role, in the shape of @coolant/telemetry's
 * TWorkerLaunch plus the environment that selects the role. null when running from source: the
 * telemetry package then starts its own .ts worker through tsx.
 *
 * - sea: fork() always passes a module path; the executable is its own "module" and the
 *   entry ignores arguments in a child role. Node options in execArgv would be passed to the
 *   app, not to Node (a single executable does not parse them), so there are none.
 * - bundle: node runs the bundle file again (process.argv[1]).
 */
export function selfLaunch(
  role: Exclude<TAgentRole, 'agent'>,
): { entry: string; execArgv: string[]; env: Record<string, string> } | null {
  const kind = packaging();
  if (kind === 'source') return null;
  const entry = kind === 'sea' ? process.execPath : process.argv[1];
  if (!entry) throw new Error('cannot tell which file this bundled agent runs from (process.argv[1] is empty)');
  return { entry, execArgv: [], env: { [AGENT_ROLE_ENV]: role } };
}
