// The node flags the console server runs with, written once: `npm start` (package.json), the systemd
// unit, and the consoles the tests, benches and e2e start all pass them, and apps/agent/test/deploy.test.ts
// holds package.json and the unit to this list.
//
// --max-semi-space-size=8: V8 grows the young generation to two 16 MB semi-spaces by default and
// keeps them committed after a scavenge. At 8 MB the warm console (bench/lib/start-footprint.mjs)
// measured 162-197 MB PSS against 197-234 MB without, with no measurable change in admission
// throughput or CPU per decision (interleaved A/B over bench/admission.ts's load, three rounds).
export const CONSOLE_NODE_ARGS = ['--max-semi-space-size=8'];
