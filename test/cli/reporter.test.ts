/**
 * The three faces of progress: the mode picked from the environment, the live terminal display
 * (redrawn lines with state, elapsed time and current step), plain lines and Actions groups, and
 * the closing table / job summary.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { reporterFor, reporterMode, summaryMarkdown, summaryText } from '../../src/cli/reporter.js';
import type { JobRecord } from '../../src/pipeline/jobs.js';
import { tempDir } from '../helpers/tmp.js';

const JOBS: JobRecord[] = [
  { id: 'release-1.18/arm64 build:cri-o', state: 'ok', seconds: 20.1, detail: '1.18.1 (cross)', host: 'local' },
  { id: 'release-1.18/arm64 build:conmon', state: 'cached', seconds: 0, detail: '2.0.11 (cross)' },
  { id: 'release-1.17/arm64 build:cri-o', state: 'failed', seconds: 3, detail: 'make | exited 2' },
  { id: 'release-1.17 index', state: 'skipped', seconds: 0, detail: 'build failed' },
];

function capture(tty = false): { out: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const out = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (tty) Object.assign(out, { isTTY: true, columns: 100 });
  let buf = '';
  out.on('data', (d: Buffer) => (buf += d.toString()));
  return { out, text: () => buf };
}

describe('reporter', () => {
  test('mode: quiet wins; GitHub Actions; a terminal gets the live display; pipes and CI get plain lines', () => {
    assert.equal(reporterMode(true, { GITHUB_ACTIONS: 'true' }, true), 'quiet');
    assert.equal(reporterMode(false, { GITHUB_ACTIONS: 'true' }, true), 'actions');
    assert.equal(reporterMode(false, {}, true), 'live');
    assert.equal(reporterMode(false, { TERM: 'dumb' }, true), 'plain');
    assert.equal(reporterMode(false, { CI: '1' }, true), 'plain');
    assert.equal(reporterMode(false, {}, false), 'plain');
  });

  test('live: one line per running job with its stage, elapsed time and current step; finished stages persist', async () => {
    const { out, text } = capture(true);
    const r = reporterFor('live', out);
    const a = r.events('release-1.18/arm64');
    const b = r.events('release-1.18/amd64');
    a.stage?.('build', 'start');
    b.stage?.('fetch', 'start');
    a.step?.('build', 'cri-o: make bin/crio');
    b.progress?.('fetch', 'go1.13.10.linux-amd64.tar.gz', 2 ** 20, 4 * 2 ** 20);
    await new Promise((res) => setTimeout(res, 300));
    const live = text();
    assert.match(live, /release-1\.18\/arm64 +build +\d+s +cri-o: make bin\/crio/);
    assert.match(live, /release-1\.18\/amd64 +fetch +\d+s +go1\.13\.10\.linux-amd64\.tar\.gz 1\.0 MiB \(25%\)/);
    a.step?.('build', 'warning: binary left unstripped');
    a.stage?.('build', 'done');
    assert.match(text(), /release-1\.18\/arm64: warning: binary left unstripped\n/, 'warnings stay on screen');
    assert.match(text(), /release-1\.18\/arm64 build done in \d+\.\ds\n/);
    r.finish(JOBS, 'crio-build: finished with failures');
    assert.match(text(), /crio-build: finished with failures: 1 ok, 1 cached, 1 FAILED, 1 skipped\n/);
  });

  test('plain: timestamped lines, no escape sequences', () => {
    const { out, text } = capture();
    const r = reporterFor('plain', out);
    const e = r.events('release-1.18/arm64');
    e.stage?.('package', 'start');
    e.step?.('package', 'writing cri-o_1.18.1-1_arm64.deb');
    r.finish(JOBS, 'done');
    assert.match(text(), /^\[ *\d+\.\ds\] release-1\.18\/arm64 package$/m);
    assert.match(text(), /^\[ *\d+\.\ds\]   release-1\.18\/arm64 package: writing cri-o_1\.18\.1-1_arm64\.deb$/m);
    assert.doesNotMatch(text(), /\x1b\[/);
  });

  test('GitHub Actions: each stage a log group, and the table appended to $GITHUB_STEP_SUMMARY as Markdown', async () => {
    const dir = await tempDir();
    const summary = join(dir, 'summary.md');
    const saved = process.env.GITHUB_STEP_SUMMARY;
    process.env.GITHUB_STEP_SUMMARY = summary;
    try {
      const { out, text } = capture();
      const r = reporterFor('actions', out);
      const e = r.events('release-1.18/arm64');
      e.stage?.('build', 'start');
      e.step?.('build', 'cri-o: built in 20s');
      e.stage?.('build', 'done');
      r.finish(JOBS, 'crio-build: done', ['On a Pi:', '  curl ...']);
      assert.match(text(), /^::group::release-1\.18\/arm64 build\n.*cri-o: built in 20s\n::endgroup::$/m);
      const md = readFileSync(summary, 'utf8');
      assert.match(md, /^### crio-build: done$/m);
      assert.match(md, /^\| release-1\.17\/arm64 build:cri-o \| FAILED \| 3\.0s \|  \| make \\\| exited 2 \|$/m, 'pipes in details are escaped');
      assert.match(md, /```\nOn a Pi:\n  curl \.\.\.\n```/);
    } finally {
      if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY;
      else process.env.GITHUB_STEP_SUMMARY = saved;
    }
  });

  test('GitHub Actions, runs at once (a nightly): groups never nest; a stage starting inside another run\'s group is a plain line', () => {
    const { out, text } = capture();
    const r = reporterFor('actions', out);
    const a = r.events('release-1.18/arm64');
    const b = r.events('release-1.17/amd64');
    a.stage?.('build', 'start');
    b.stage?.('build', 'start');
    b.step?.('build', 'conmon: built in 9s');
    a.stage?.('build', 'done');
    b.stage?.('build', 'done');
    b.stage?.('package', 'start');
    b.stage?.('package', 'done');
    const lines = text().split('\n');
    const marks = lines.filter((l) => l.startsWith('::'));
    assert.deepEqual(marks, ['::group::release-1.18/arm64 build', '::endgroup::', '::group::release-1.17/amd64 package', '::endgroup::']);
    assert.ok(lines.some((l) => /^\[ *\d+\.\ds\] release-1\.17\/amd64 build$/.test(l)), text());
    assert.ok(lines.some((l) => /release-1\.17\/amd64 build: conmon: built in 9s$/.test(l)), 'its steps still name the run');
  });

  test('the table and the Markdown list every job with result, time, host and detail', () => {
    const t = summaryText(JOBS, 'x');
    for (const j of JOBS) assert.match(t, new RegExp(j.id.replace(/[./]/g, (c) => `\\${c}`)));
    assert.match(t, /release-1\.18\/arm64 build:cri-o +ok +20\.1s +local +1\.18\.1 \(cross\)/);
    assert.equal(summaryMarkdown(JOBS, 'x').split('\n').filter((l) => l.startsWith('| release')).length, JOBS.length);
  });
});
