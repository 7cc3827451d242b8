#!/usr/bin/env node
// `npm run check:structure`: the two structural promises of packages/api/src (issue 12), checked
// by a program instead of by a reviewer's eye:
//
//   no import cycle      madge's graph, the same as `madge --circular --extensions ts --ts-config
//                        packages/api/tsconfig.json packages/api/src` (type-only imports count:
//                        a type cycle is still two modules that cannot be read one without the other).
//                        Madge's edges were compared with the TypeScript compiler's own module
//                        resolution on this tree (428 edges, no difference), so madge is used as is.
//                        A relative import madge cannot resolve is reported too: an edge it skips is
//                        a cycle it could miss.
//   no long file         a file over 250 lines needs a reason, written in its opening comment as a
//   without a reason     line that starts with "Over 250 lines because" (after the // or *), e.g.
//                          // Over 250 lines because the store and its eviction share one invariant.
//
// Before the real tree it checks a small fixture written to a temp dir (a cycle, a type-only cycle,
// an unresolved import, a long file with and without the reason) and stops with exit 2 if the
// check does not find exactly those: a check that cannot fail is worse than none.
//
// Options: --dir packages/api/src  --tsconfig packages/api/tsconfig.json  --max-lines 250
// Exit status: 0 clean, 1 a cycle or an unexplained long file, 2 the self-test or the input failed.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireFromRoot = createRequire(join(root, 'package.json'));
export const REASON_MARKER = 'Over 250 lines because';

function usage(message) {
  console.error(`check:structure: ${message}`);
  process.exit(2);
}

/** Every .ts/.tsx/.mts file below dir (no node_modules, no declaration files), relative to dir. */
function sourceFiles(dir, sub = '') {
  const out = [];
  for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...sourceFiles(dir, rel));
    } else if (/\.(m?ts|tsx)$/.test(entry.name) && !/\.d\.m?ts$/.test(entry.name)) out.push(rel);
  }
  return out.sort();
}

/** The text of the comments before the first statement (after a shebang), one string per line. */
function openingCommentLines(ts, text) {
  const start = ts.getShebang(text)?.length ?? 0;
  const ranges = ts.getLeadingCommentRanges(text, start) ?? [];
  return ranges.flatMap((r) =>
    text
      .slice(r.pos, r.end)
      .split('\n')
      .map((line) => line.replace(/^\s*(\/\/+|\/\*+|\*+\/?)?\s?/, '').trim()),
  );
}

/** Files over maxLines whose opening comment has no line starting with the marker. */
function unexplainedLongFiles(dir, maxLines) {
  const ts = requireFromRoot('typescript');
  const found = [];
  for (const rel of sourceFiles(dir)) {
    const text = readFileSync(join(dir, rel), 'utf8');
    // Lines as an editor (and wc -l) counts them: a final newline does not start another line.
    const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines <= maxLines) continue;
    const explained = openingCommentLines(ts, text).some((l) => l.startsWith(REASON_MARKER));
    if (!explained) found.push({ file: rel, lines });
  }
  return found;
}

/** Import cycles (each a list of files relative to dir) and relative imports madge could not resolve. */
async function importGraph(dir, tsconfig) {
  // Resolved from the repository root (a devDependency there), wherever this file is run from.
  const { default: madge } = await import(pathToFileURL(requireFromRoot.resolve('madge')).href);
  const result = await madge(dir, { fileExtensions: ['ts', 'tsx', 'mts'], tsConfig: tsconfig });
  const unresolved = result.warnings().skipped.filter((s) => s.startsWith('.'));
  return { files: Object.keys(result.obj()).length, cycles: result.circular(), unresolved };
}

export async function checkStructure({ dir, tsconfig, maxLines = 250 }) {
  const graph = await importGraph(dir, tsconfig);
  return { ...graph, longFiles: unexplainedLongFiles(dir, maxLines) };
}

function report(label, r, maxLines) {
  const lines = [`check:structure: ${label} (${r.files} files)`];
  lines.push(`  import cycles: ${r.cycles.length || 'none'}`);
  for (const c of r.cycles) lines.push(`    ${[...c, c[0]].join(' -> ')}`);
  if (r.unresolved.length) {
    lines.push(
      `  relative imports madge could not resolve (a cycle through them would go unseen): ${r.unresolved.length}`,
    );
    for (const u of r.unresolved) lines.push(`    ${u}`);
  }
  lines.push(
    `  files over ${maxLines} lines without "${REASON_MARKER} …" in their opening comment: ${r.longFiles.length || 'none'}`,
  );
  for (const f of r.longFiles) lines.push(`    ${f.file} (${f.lines} lines)`);
  return lines.join('\n');
}

const failed = (r) => r.cycles.length > 0 || r.unresolved.length > 0 || r.longFiles.length > 0;

// ---------------------------------------------------------------------------------------------
// The self-test: a fixture whose answer is known.

const filler = (n) => Array.from({ length: n }, (_, i) => `export const line${i} = ${i};`).join('\n');
const FIXTURE = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', strict: true } }),
  'a.ts': "// Half of a cycle.\nimport { b } from './lib/b';\nexport const a = () => b();\n",
  'lib/b.ts': "// The other half.\nimport { a } from '../a';\nexport const b = (): unknown => a;\n",
  'types-c.ts': "// A cycle through types only.\nimport type { TD } from './types-d';\nexport type TC = { d?: TD };\n",
  'types-d.ts': "import type { TC } from './types-c';\nexport type TD = { c?: TC };\n",
  'dangling.ts': "// Imports a file that is not there.\nimport { gone } from './gone';\nexport const d = gone;\n",
  'long.ts': `// Long, and no reason given.\n${filler(260)}\n`,
  'long-explained.ts': `/**\n * Long on purpose.\n * ${REASON_MARKER} the fixture needs one.\n */\n${filler(260)}\n`,
  'long-marker-later.ts': `// Opening comment without the reason.\n${filler(260)}\n// ${REASON_MARKER} too late: not in the opening comment.\n`,
  // Exactly at the limit: allowed without a reason.
  'at-limit.ts': `// 250 lines.\n${filler(249)}\n`,
};

async function selfTest() {
  const dir = mkdtempSync(join(tmpdir(), 'coolant-check-structure-'));
  try {
    for (const [rel, text] of Object.entries(FIXTURE)) {
      const path = join(dir, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    const r = await checkStructure({ dir, tsconfig: join(dir, 'tsconfig.json') });
    const cycles = r.cycles.map((c) => [...c].sort().join(' ')).sort();
    const want = {
      cycles: ['a.ts lib/b.ts', 'types-c.ts types-d.ts'],
      unresolved: ['./gone'],
      longFiles: ['long-marker-later.ts', 'long.ts'],
    };
    const got = { cycles, unresolved: r.unresolved, longFiles: r.longFiles.map((f) => f.file).sort() };
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      console.error(
        `check:structure: the self-test failed: on its fixture the check found\n  ${JSON.stringify(got)}\nwhere it must find\n  ${JSON.stringify(want)}\n${report(dir, r, 250)}`,
      );
      process.exit(2);
    }
    // And a tree without those problems passes: the check can also say yes.
    for (const rel of ['lib/b.ts', 'types-d.ts', 'dangling.ts', 'long.ts', 'long-marker-later.ts'])
      rmSync(join(dir, rel));
    writeFileSync(join(dir, 'a.ts'), '// No longer half of anything.\nexport const a = 1;\n');
    writeFileSync(join(dir, 'types-c.ts'), '// Alone.\nexport type TC = { c: number };\n');
    const clean = await checkStructure({ dir, tsconfig: join(dir, 'tsconfig.json') });
    if (failed(clean)) {
      console.error(`check:structure: the self-test failed: a clean fixture did not pass\n${report(dir, clean, 250)}`);
      process.exit(2);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: 'packages/api/src' },
      tsconfig: { type: 'string', default: 'packages/api/tsconfig.json' },
      'max-lines': { type: 'string', default: '250' },
    },
  });
  const dir = resolve(root, values.dir);
  const tsconfig = resolve(root, values.tsconfig);
  const maxLines = Number(values['max-lines']);
  if (!Number.isInteger(maxLines) || maxLines < 1)
    usage(`--max-lines must be a positive integer, got ${values['max-lines']}`);
  for (const [flag, path, kind] of [
    ['--dir', dir, 'directory'],
    ['--tsconfig', tsconfig, 'file'],
  ]) {
    let st = null;
    try {
      st = statSync(path);
    } catch {
      usage(`${flag} ${path} does not exist`);
    }
    if (kind === 'directory' ? !st.isDirectory() : !st.isFile()) usage(`${flag} ${path} is not a ${kind}`);
  }
  await selfTest();
  const r = await checkStructure({ dir, tsconfig, maxLines });
  const label = relative(root, dir);
  console.log(report(label.startsWith('..') ? dir : label || '.', r, maxLines));
  console.log(
    failed(r) ? 'check:structure: FAILED' : 'check:structure: passed (self-test: a cycle and a long file are found)',
  );
  process.exit(failed(r) ? 1 : 0);
}
