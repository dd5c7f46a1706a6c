#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in test runner.
// Listing the files ourselves keeps helpers and fixtures under dist/test from being run as tests.
//
// A full run (no filter) also starts dist/test/prewarm.js in the background: it makes the builder
// images the suite needs, the foreign-arch one first, while the files that need none run. The files
// that need the foreign-arch images go last, so that on a fresh machine those images are ready (or
// nearly) when they are reached. CRIO_BUILD_TEST_PREWARM=0 turns this off.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

/** Files that need an image made under qemu (arm64 builder, arm64 Debian roots): run them last. */
const LAST = ['build/build.test.js', 'package/install-arm64.test.js', 'e2e/pi.test.js', 'acceptance/'];
const late = (f) => LAST.findIndex((l) => f.includes(l));

const only = process.argv.slice(2);
const files = find('dist/test')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort((a, b) => late(a) - late(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test (did `tsc` run?)');
  process.exit(1);
}

let prewarm;
if (only.length === 0 && process.env.CRIO_BUILD_TEST_PREWARM !== '0') {
  mkdirSync('artifacts', { recursive: true });
  const log = openSync('artifacts/test-prewarm.log', 'w');
  prewarm = spawn(process.execPath, ['dist/test/prewarm.js'], { stdio: ['ignore', log, log] });
  console.log(`run-tests: making the builder images in the background (pid ${prewarm.pid}, log artifacts/test-prewarm.log)`);
}
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=1800000', ...files], { stdio: 'inherit' });
if (prewarm && prewarm.exitCode === null) prewarm.kill('SIGTERM');
process.exit(res.status ?? 1);
