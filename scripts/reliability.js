#!/usr/bin/env node
// `npm run reliability`: runs every dist/test/reliability/**/*.test.js with node's test runner (the
// spec reporter on the terminal, and scripts/reliability-reporter.js writing JSON lines to a file),
// then prints the figures of the reliability suite from what the runner reported:
//
//   faults injected        tests named "fault ..." in faults*.test.js (each injects a fault into a real run and reruns)
//   hostile inputs tried   leaf tests of hostile*.test.js (one case each), and the inputs they report
//   reproducibility        checks (leaf tests of reproducible*.test.js), and the files they report comparing
//   secrets scans          leaf tests of secrets*.test.js, and the files they report scanning
//
// A test reports a figure with a diagnostic `figure <name>: <count>` (t.diagnostic), e.g.
// `figure hostile-inputs: 412` or `figure files-compared: 57`; a line `# scanned N files` on stdout
// (secrets.test.ts prints one) counts as `figure files-scanned: N`. Figures nobody reported are shown
// as "not reported". Exits non-zero when any test failed (or the runner did).
//
//   npm run reliability                 everything under test/reliability
//   npm run reliability -- faults       only files whose path contains "faults"
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const ROOT = 'dist/test/reliability';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const only = process.argv.slice(2);
let files;
try {
  files = find(ROOT).filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
} catch {
  files = [];
}
if (files.length === 0) {
  console.error(`reliability: no test files under ${ROOT}${only.length ? ` matching ${only.join(', ')}` : ''} (did \`tsc\` run?)`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'crio-build-reliability-'));
const jsonl = join(work, 'results.jsonl');
const t0 = Date.now();
const res = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-timeout=1800000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/reliability-reporter.js',
    `--test-reporter-destination=${jsonl}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
const seconds = (Date.now() - t0) / 1000;

let events = [];
try {
  events = readFileSync(jsonl, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
} catch (err) {
  console.error(`reliability: the reporter wrote nothing readable (${err.message})`);
}
rmSync(work, { recursive: true, force: true });

// ---- figures ------------------------------------------------------------------------------------

const AREAS = [
  { key: 'faults', title: 'faults', match: /fault/i, unit: 'faults injected', only: (name) => /^fault\b/i.test(name) },
  { key: 'hostile', title: 'hostile inputs', match: /hostile/i, unit: 'cases (tests)', figures: [['hostile-inputs', 'inputs tried']] },
  { key: 'repro', title: 'reproducibility', match: /reproduc/i, unit: 'checks', figures: [['files-compared', 'files compared']] },
  { key: 'secrets', title: 'secrets', match: /secret/i, unit: 'scans', figures: [['files-scanned', 'files scanned']] },
  { key: 'other', title: 'other', match: /./, unit: 'tests' },
];
const areaOf = (file) => AREAS.find((a) => a.match.test(basename(file ?? '')))?.key ?? 'other';

const results = events.filter((e) => (e.type === 'pass' || e.type === 'fail') && !e.suite);
const tally = new Map(AREAS.map((a) => [a.key, { count: 0, passed: 0, failed: 0, skipped: 0, figures: new Map() }]));
for (const e of results) {
  const area = AREAS.find((a) => a.key === areaOf(e.file));
  const t = tally.get(area.key);
  // A file that fails to load reports one failure named by its path.
  if (area.only && e.type === 'pass' && !area.only(e.name)) continue;
  t.count++;
  if (e.skip || e.todo) t.skipped++;
  else if (e.type === 'pass') t.passed++;
  else t.failed++;
}
for (const e of events) {
  if (e.type !== 'diagnostic' && e.type !== 'stdout') continue;
  const text = String(e.message ?? '');
  const t = tally.get(areaOf(e.file));
  for (const m of text.matchAll(/^figure ([a-z0-9-]+): (\d+)\s*$/gim)) t.figures.set(m[1], (t.figures.get(m[1]) ?? 0) + Number(m[2]));
  for (const m of text.matchAll(/^# scanned (\d+) files/gim)) t.figures.set('files-scanned', (t.figures.get('files-scanned') ?? 0) + Number(m[1]));
}

const rows = [];
const ran = new Set(files.map((f) => areaOf(f)));
for (const a of AREAS) {
  const t = tally.get(a.key);
  if (!ran.has(a.key) && t.count === 0) continue;
  rows.push([a.title, a.unit, String(t.count), `${t.passed}${t.skipped ? ` (+${t.skipped} skipped)` : ''}`, t.failed ? `${t.failed} FAILED` : '']);
  for (const [name, label] of a.figures ?? []) {
    rows.push(['', label, t.figures.has(name) ? String(t.figures.get(name)) : 'not reported', '', '']);
  }
  for (const [name, n] of t.figures) if (!(a.figures ?? []).some(([f]) => f === name)) rows.push(['', name.replace(/-/g, ' '), String(n), '', '']);
}
const failedTotal = [...tally.values()].reduce((s, t) => s + t.failed, 0);
const header = ['area', 'measure', 'count', 'passed', ''];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => `  ${r.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd();
console.log(`\ncrio-build reliability figures: ${files.length} files, ${seconds.toFixed(0)}s`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
for (const e of results.filter((x) => x.type === 'fail')) console.log(`  FAILED: ${basename(e.file ?? '?')}: ${e.name}${e.error ? `\n    ${e.error.split('\n')[0]}` : ''}`);
if (results.length === 0) console.log('  (the runner reported no test results)');

process.exit(res.status !== 0 || failedTotal > 0 || results.length === 0 ? (res.status || 1) : 0);
