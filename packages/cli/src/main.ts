import { run } from './run';

const code = await run(process.argv.slice(2), process.env, {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
// Let stdout drain before exiting (a pipe may be slower than we are).
process.exitCode = code;
