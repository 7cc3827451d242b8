// Bundles the light fleet simulation (apps/agent/src/sim/light-main.ts) with esbuild into
// dist/fleet-sim/light-fleet.mjs, so it runs on plain node with no TypeScript compiler at run time,
// the way scripts/package-agent.mjs bundles the agent. Rebuilt only when an input is newer.
//   node scripts/fleet-sim/build-light.mjs   (prints the bundle's path)
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputsUnchanged, readBuildRecord, recordedInputs, writeBuildRecord } from '../lib/build-record.mjs';
import { agentBundleOptions, loadEsbuild } from '../lib/esbuild-options.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const LIGHT_BUNDLE = join(root, 'dist/fleet-sim/light-fleet.mjs');
const INFO = join(root, 'dist/fleet-sim/build-info.json');

function fresh() {
  const info = readBuildRecord(INFO);
  return (
    !!info &&
    existsSync(LIGHT_BUNDLE) &&
    info.node === process.version &&
    inputsUnchanged(root, info, [fileURLToPath(import.meta.url), join(root, 'scripts/lib/esbuild-options.mjs')])
  );
}

/** Returns the bundle's path, building it first when stale. */
export async function buildLight() {
  if (fresh()) return LIGHT_BUNDLE;
  const builtAtMs = Date.now();
  const esbuild = loadEsbuild();
  mkdirSync(dirname(LIGHT_BUNDLE), { recursive: true });
  // The agent's options (lib/esbuild-options.mjs): packaging() says "bundle", so nothing looks for .ts files beside it.
  const result = await esbuild.build({
    ...agentBundleOptions(),
    entryPoints: [join(root, 'apps/agent/src/sim/light-main.ts')],
    outfile: LIGHT_BUNDLE,
  });
  await esbuild.stop?.();
  writeBuildRecord(INFO, {
    node: process.version,
    builtAtMs,
    inputs: recordedInputs(root, Object.keys(result.metafile.inputs)),
  });
  return LIGHT_BUNDLE;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await buildLight());
}
