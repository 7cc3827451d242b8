/**
 * Entry of the collector's inventory child process (see collector-child.ts for why it exists). The
 * collector forks this file: as .ts under `--import tsx` from sources, as .js once compiled. A
 * packaged agent forks itself instead and calls runCollectorChild() in its collector role.
 */
import { runCollectorChild } from './collector-child.ts';

try {
  runCollectorChild();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
