// What a bundle was built from, kept beside it as build-info.json: the files esbuild read (relative
// to the repository root) and when the build began. The console's server bundle, the agent bundle
// and the light fleet sim decide "stale or fresh" from it the same way; each adds its own checks.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** The record at path, or null when it is missing or unreadable (then the build is stale). */
export function readBuildRecord(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** Every input of the record, plus `extra` absolute paths, exists and is older than the build. */
export function inputsUnchanged(root, record, extra = []) {
  const inputs = [...record.inputs.map((p) => join(root, p)), ...extra];
  return inputs.every((p) => existsSync(p) && statSync(p).mtimeMs <= record.builtAtMs);
}

/** The files esbuild read for these metafile input lists, relative to root, once each, sorted. */
export function recordedInputs(root, ...inputLists) {
  return [...new Set(inputLists.flat())]
    .filter((p) => !p.startsWith('<'))
    .map((p) => relative(root, resolve(root, p)))
    .sort();
}

export function writeBuildRecord(path, record) {
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
}
