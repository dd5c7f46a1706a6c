#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in test runner.
// Listing the files ourselves keeps helpers and fixtures under dist/test from being run as tests.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = find('dist/test').filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test (did `tsc` run?)');
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=1800000', ...files], { stdio: 'inherit' });
process.exit(res.status ?? 1);
