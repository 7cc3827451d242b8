#!/usr/bin/env node
// Fake `lspci` for the collector tests: prints the fixture's `lspci -vvv` listing, whatever the
// arguments (systeminformation 5.33 only ever runs `lspci -vvv`). Same $FAKE_CONTROL file as the
// fake nvidia-smi; `lspci` in it, when set, replaces the fixture's listing.
import { appendFileSync, readFileSync } from 'node:fs';

const control = JSON.parse(readFileSync(process.env.FAKE_CONTROL ?? '', 'utf8'));
if (control.log)
  appendFileSync(control.log, `${JSON.stringify({ tool: 'lspci', pid: process.pid, args: process.argv.slice(2) })}\n`);
const listing = control.lspci ?? JSON.parse(readFileSync(control.fixture, 'utf8')).lspci;
process.stdout.write(listing.endsWith('\n') ? listing : `${listing}\n`);
