/**
 * The environment the agent hands its children (the collector worker, nvidia-smi, lspci): its own,
 * less the enrollment secret, which only the agent's first enroll call uses. The rest stays:
 * PATH and LD_LIBRARY_PATH decide which nvidia-smi runs and what it loads, and a host's (or the
 * fleet simulator's) nvidia-smi may read its own variables. The console's local agent is already
 * started with an allow-list (apps/console/server/local-agent.ts), so its children see only that.
 */
export function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { COOLANT_ENROLL_TOKEN: _secret, ...rest } = env;
  return rest;
}
