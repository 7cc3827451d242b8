// The one esbuild configuration of the repository: every bundle that runs on plain node (the
// console's server, its workers, the agent, the light fleet sim, the cluster demo, the bundled
// benches) starts from these options and adds only its entry, its output and what truly differs.
// Two copies drifted once (a banner fixed in one bundle and not the other); a new bundle should
// not be able to start from a third.
//
//   consoleBundleOptions()            server-side code beside node_modules: @coolant/* (TypeScript
//                                     sources) bundled in, npm dependencies left to node_modules
//   agentBundleOptions({ format })    the self-contained agent: everything bundled in, whitespace
//                                     and syntax minified, packaging() says "bundle"
//   loadEsbuild()                     esbuild from the repository root, with a clear error if absent
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// CommonJS code bundled into ESM still calls require() for Node's builtins.
const REQUIRE_BANNER =
  'import { createRequire as __coolantCreateRequire } from "node:module"; const require = __coolantCreateRequire(import.meta.url);';
// A CommonJS bundle has no import.meta; the single executable's __filename is its own path.
const IMPORT_META_BANNER = 'var __coolant_import_meta_url = require("node:url").pathToFileURL(__filename).href;';
const IMPORT_META_DEFINE = {
  'import.meta.url': '__coolant_import_meta_url',
  'import.meta.filename': '__filename',
  'import.meta.dirname': '__dirname',
};

/** npm dependencies stay external (resolved from node_modules at run time); @coolant/* are bundled in. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isAbsolute(args.path) || args.path.startsWith('@coolant/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/**
 * What every bundle shares. format 'esm' gets require() through createRequire; 'cjs' gets
 * import.meta.* rewritten to CommonJS equivalents. shebang: the output is an executable script.
 */
function nodeBundleOptions({ format = 'esm', shebang = false } = {}) {
  const esm = format === 'esm';
  const banner = esm ? REQUIRE_BANNER : IMPORT_META_BANNER;
  return {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // The generator's weights travel inside the bundle (smoke jobs, the worker thread).
    loader: { '.bin': 'binary' },
    define: esm ? {} : { ...IMPORT_META_DEFINE },
    banner: { js: shebang ? `#!/usr/bin/env node\n${banner}` : banner },
  };
}

/** Server-side code that runs inside the repository (console, demo, benches); not minified: readable stack traces. */
export function consoleBundleOptions({ format = 'esm', shebang = false } = {}) {
  return { ...nodeBundleOptions({ format, shebang }), plugins: [externalPackages] };
}

/** The agent and what runs its code outside the repository: one file with every dependency inside. */
export function agentBundleOptions({ format = 'esm', shebang = false } = {}) {
  const common = nodeBundleOptions({ format, shebang });
  return {
    ...common,
    // Whitespace and syntax only: identifiers stay, so stack traces from the field stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    // systeminformation requires these inside try/catch on macOS only.
    external: ['osx-temperature-sensor', 'macos-temperature-sensor'],
    // packaging() says "bundle", so nothing looks for .ts files beside the bundle.
    define: { __COOLANT_PACKAGING__: '"bundle"', ...common.define },
  };
}

/** esbuild as installed at the repository root (a devDependency). */
export function loadEsbuild() {
  try {
    return createRequire(join(root, 'package.json'))('esbuild');
  } catch (error) {
    throw new Error('esbuild is not installed (run npm install at the repository root)', { cause: error });
  }
}
