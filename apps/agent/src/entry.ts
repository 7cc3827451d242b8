/**
 * Entry point of the packaged agent: dist/agent/coolant-agent.mjs and the single executable
 * dist/agent/coolant-agent (see scripts/package-agent.mjs). It only picks the process role; each
 * role is imported lazily so a collector child never loads the agent (tRPC client, config) and
 * the agent never runs the collector's module-level set-up.
 */
import { useEmbeddedWeights } from '@coolant/generator';
import weights from '../../../packages/generator/model/weights.bin';
import { AGENT_ROLE_ENV, AGENT_ROLES, type TAgentRole } from './packaging';

useEmbeddedWeights(weights);

const requested = process.env[AGENT_ROLE_ENV] || 'agent';
const role = AGENT_ROLES.find((r) => r === requested);

function start(r: TAgentRole): Promise<unknown> {
  switch (r) {
    case 'agent':
      return import('./main');
    case 'collector':
      // The systeminformation worker @coolant/telemetry forks (packaging.ts selfLaunch() is its workerLaunch).
      return import('@coolant/telemetry/collector-child').then((m) => m.runCollectorChild());
  }
}

if (role) {
  start(role).catch((error: unknown) => {
    console.error(`coolant-agent (${role}):`, error);
    process.exit(1);
  });
} else {
  // A typo here must not silently start a second agent with the parent's credentials.
  console.error(`coolant-agent: unknown ${AGENT_ROLE_ENV}=${requested} (expected one of ${AGENT_ROLES.join(', ')})`);
  process.exitCode = 2;
}
