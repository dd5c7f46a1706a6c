/**
 * Reproducible builds: two complete `crio-build release-1.18 --arch arm64` runs from empty caches,
 * in different directories (of different path lengths), at different times, with a different time
 * zone, umask and locale, give byte-identical .debs, bundle, SHA256SUMS and apt index. Both runs use
 * the same test site (the same miniature upstream repos and Go toolchain tarball, the REAL recipes)
 * and the same signing key; each has its own empty --cache-dir, so every build really runs twice.
 *
 * Compared, every file of both:
 *   artifacts/release-1.18/arm64/packages/   the .debs, the bundle, SHA256SUMS, release.json
 *   artifacts/releases/nightly-release-1.18/ the above, Packages(.gz,.xz), Release, InRelease, the
 *                                            keyring (.gpg, .asc), the manifest, the release notes
 *   artifacts/release-1.18/arm64/build/<c>/  each component's build outputs as copied out
 * What differs by design, and only that, is normalized away (see NORMALIZE and SKIP below, each with
 * its reason). A difference is reported down to the member inside a .deb or tarball (./diff-report.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { BIN, type CliResult } from '../helpers/cli.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';
import { tempDir } from '../helpers/tmp.js';
import { BUILD_ROOT, buildDate, GOPATH, TOOLCHAIN_DIR } from '../../src/build/build-env.js';
import { generateSigningKey } from '../../src/index/apt/index.js';
import { compareDirs, formatReport, goBuildId, gnuBuildId, isElf, type CompareOptions, type Difference } from './diff-report.js';

const BRANCH = 'release-1.18';
const TAG = `nightly-${BRANCH}`;
const COMPONENTS = ['cri-o', 'conmon', 'cni-plugins', 'cri-tools'];
/** The binaries as copied out of the builder (before packaging strips anything), by language. */
const GO_BINARIES = ['cri-o/bin/crio', 'cri-o/bin/crio-status', 'cni-plugins/bin/bridge', 'cni-plugins/bin/loopback', 'cni-plugins/bin/host-local', 'cri-tools/_output/crictl'];
const C_BINARIES = ['conmon/bin/conmon', 'cri-o/bin/pinns'];

/** One run's surroundings: everything a leak of the build machine's state could come from. */
interface RunSetup {
  name: string;
  root: string;
  tz: string;
  umask: string;
  locale: string;
}

interface Run extends RunSetup {
  artifacts: string;
  cache: string;
  startedAt: number;
  result: CliResult;
}

function runCliIn(setup: RunSetup, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // umask cannot be given to spawn: a shell sets it, then execs node with the argument list.
    const child = spawn('/bin/sh', ['-c', `umask ${setup.umask} && exec "$@"`, 'sh', process.execPath, BIN, ...args], {
      cwd: setup.root,
      env: { ...process.env, ...env, TZ: setup.tz, LANG: setup.locale, LC_ALL: setup.locale },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// ---- What differs by design ---------------------------------------------------------------------

const text = (f: (s: string) => string) => (b: Buffer) => Buffer.from(f(b.toString('utf8')));
/** apt's Release: Date is when it was signed and Valid-Until is Date + the window (nightlies); both are times by design. */
const releaseWithoutTimes = (s: string) => s.replace(/^(Date|Valid-Until): .*\n/gm, '');
/** The cleartext of InRelease (RFC 4880 §7: dash-escaped, between the armor lines), without its times. */
function inReleaseText(s: string): string {
  const m = /^-----BEGIN PGP SIGNED MESSAGE-----\n(?:Hash: .*\n)*\n([\s\S]*?)\n-----BEGIN PGP SIGNATURE-----/m.exec(s);
  if (!m) return `(not a clearsigned message)\n${s}`;
  return releaseWithoutTimes(`${(m[1] as string).replace(/^- /gm, '')}\n`);
}
/**
 * packagedAt is the wall-clock time the package stage ran (provenance: "when was this made"); it
 * is the only time in the record and the manifest. Every other field (versions, commits, commit
 * times, URLs, content keys, builder image tags, the host that built it, cacheHit, every artifact's
 * sha256 and size) must be equal, so they are compared.
 */
function withoutPackagedAt(b: Buffer): Buffer {
  const j = JSON.parse(b.toString('utf8')) as { packagedAt?: unknown; build?: unknown; arches?: Array<{ packagedAt?: unknown }> };
  delete j.packagedAt;
  // The record's run description: its times, invocation id, host, and command line with this run's paths.
  delete j.build;
  for (const a of j.arches ?? []) delete a.packagedAt;
  return Buffer.from(JSON.stringify(j, null, 2));
}

function options(runs: Run[], saveDir: string): CompareOptions {
  // The notes name where the release is served: by default the file:// URL of the run's
  // artifacts/releases (a path, by design); a published release gives --base-url instead.
  const bases = runs.map((r) => pathToFileURL(join(r.artifacts, 'releases')).href);
  return {
    saveDir,
    normalize: [
      { match: (r) => r === 'Release', apply: text(releaseWithoutTimes), why: 'Date and Valid-Until' },
      { match: (r) => r === 'InRelease', apply: text(inReleaseText), why: 'the signature (its time) and Date/Valid-Until; verified with gpgv instead' },
      { match: (r) => r.endsWith('release.json') || r.endsWith('crio-build-manifest.json'), apply: withoutPackagedAt, why: 'packagedAt, and the record\'s run (build: times, host, command with its paths)' },
      { match: (r) => r.endsWith('RELEASE_NOTES.md'), apply: text((s) => bases.reduce((t, base) => t.split(base).join('<base-url>'), s)), why: 'the base URL, a path of this run' },
    ],
    skip: [
      { match: (r) => r === 'Release.gpg', why: 'a detached signature holds its creation time; verified with gpgv instead' },
      { match: (r) => r.endsWith('provenance.intoto.jsonl'), why: 'states the runs\' times and paths and is signed (its time); checked by `crio-build verify` instead' },
      { match: (r) => r.startsWith('.'), why: 'hidden files are not part of a release' },
    ],
  };
}

describe('reproducible: two release-1.18 arm64 builds from empty caches give identical packages and index', () => {
  let site: TestSite;
  const runs: Run[] = [];
  let keyFile = '';
  const saveDir = join(TEST_CACHE, 'reproducible-diffs');

  before(async () => {
    const dir = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
    // One site, so both runs build the same upstream commits with the same toolchain tarball.
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
    const keys = await tempDir('crio-build-repro-keys-');
    keyFile = join(keys, 'key.asc');
    await generateSigningKey({ name: 'crio-build reproducibility', email: 'repro@crio-build.invalid', outFile: keyFile });
    const env = { CRIO_BUILD_SIGNING_KEY: await readFile(keyFile, 'utf8'), CRIO_BUILD_SIGNING_PASSPHRASE: '', GITHUB_TOKEN: '' };

    const a = await tempDir('crio-build-repro-a-');
    const b = await tempDir('crio-build-repro-b-');
    const setups: RunSetup[] = [
      { name: 'A', root: a, tz: 'UTC', umask: '0022', locale: 'C' },
      // A longer path, another time zone, a group-writable umask and a UTF-8 locale.
      { name: 'B', root: join(b, 'a-much-longer-directory-name', 'with', 'several', 'levels'), tz: 'Asia/Tokyo', umask: '0002', locale: 'C.UTF-8' },
    ];
    for (const s of setups) {
      await mkdir(s.root, { recursive: true });
      const prev = runs.at(-1);
      if (prev) {
        // Different times: at least 2 seconds apart (a run takes minutes, so this rarely waits).
        const wait = prev.startedAt + 2000 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const artifacts = join(s.root, 'artifacts');
      const cache = join(s.root, 'cache');
      const startedAt = Date.now();
      const result = await runCliIn(s, [BRANCH, '--arch', 'arm64', '--config', site.configPath, '--cache-dir', cache, '--artifacts', artifacts], env);
      runs.push({ ...s, artifacts, cache, startedAt, result });
      process.stderr.write(`# run ${s.name} (${s.root}, TZ=${s.tz}, umask ${s.umask}): exit ${result.code} in ${((Date.now() - startedAt) / 1000).toFixed(0)}s\n`);
    }
  });
  after(() => site?.close());

  test('both runs built everything from scratch (no cache hit) and indexed a signed release', () => {
    assert.equal(runs.length, 2);
    for (const r of runs) {
      assert.equal(r.result.code, 0, `run ${r.name} failed:\n${r.result.stderr.slice(-4000)}`);
      for (const c of COMPONENTS) assert.match(r.result.stderr, new RegExp(`${BRANCH}/arm64 build:${c} +ok`), `run ${r.name}: build:${c} did not run (cached?)`);
      assert.match(r.result.stderr, new RegExp(`${BRANCH}/arm64 package +ok`), `run ${r.name}: the package stage did not run`);
      assert.match(r.result.stderr, new RegExp(`${BRANCH} index +ok`), `run ${r.name}: the index stage did not run`);
    }
    assert.ok(runs[1]!.startedAt - runs[0]!.startedAt >= 2000, 'the runs started at least 2 seconds apart');
  });

  test('the signatures verify with the key in each release (they are compared that way, not by bytes)', async () => {
    for (const r of runs) {
      const rel = join(r.artifacts, 'releases', TAG);
      const keyring = join(rel, 'crio-build-archive-keyring.gpg');
      execFileSync('gpgv', ['--keyring', keyring, join(rel, 'InRelease')], { stdio: 'pipe' });
      execFileSync('gpgv', ['--keyring', keyring, join(rel, 'Release.gpg'), join(rel, 'Release')], { stdio: 'pipe' });
    }
  });

  test('the packages dir: every .deb, the bundle, SHA256SUMS and the record are identical', async () => {
    const [a, b] = runs.map((r) => join(r.artifacts, BRANCH, 'arm64', 'packages'));
    const files = (await readdir(a!)).filter((f) => !f.startsWith('.')).sort();
    assert.ok(files.filter((f) => f.endsWith('.deb')).length === 4 && files.some((f) => f.endsWith('.tar.gz')) && files.includes('SHA256SUMS'), files.join(' '));
    const diffs = await compareDirs(a!, b!, options(runs, saveDir));
    assert.deepEqual(diffs, [], formatReport(diffs));
  });

  test('the release directory: packages, SHA256SUMS, Packages(.gz,.xz), Release, keyring, manifest and notes are identical', async () => {
    const [a, b] = runs.map((r) => join(r.artifacts, 'releases', TAG));
    const diffs = await compareDirs(a!, b!, options(runs, saveDir));
    assert.deepEqual(diffs, [], formatReport(diffs));
  });

  test("each component's build outputs are identical as copied out of the builder", async () => {
    const diffs: Difference[] = [];
    for (const c of COMPONENTS) {
      const [a, b] = runs.map((r) => join(r.artifacts, BRANCH, 'arm64', 'build', c));
      diffs.push(...(await compareDirs(a!, b!, { saveDir })).map((d) => ({ ...d, where: `build/${c}/${d.where}` })));
    }
    assert.deepEqual(diffs, [], formatReport(diffs));
  });

  test('the binaries: Go without a build id and without build paths (-trimpath), C without build paths; no date of the run in any', async () => {
    const run = runs[0]!;
    const build = join(run.artifacts, BRANCH, 'arm64', 'build');
    // Paths a build could leak: the builder's tree (source, GOPATH, Go cache), the toolchain, the
    // builder's home, and the host's own directories of this run and of the site.
    const paths = [`${BUILD_ROOT}/src`, `${GOPATH}/`, `${BUILD_ROOT}/.cache`, TOOLCHAIN_DIR, '/home/builder', run.root, site.root];
    // The days the runs happened on, in both time zones used (a date of the run in a binary is a leak).
    const days = new Set<string>();
    for (const t of [runs[0]!.startedAt, Date.now()]) for (const offsetHours of [0, 9]) days.add(new Date(t + offsetHours * 3600_000).toISOString().slice(0, 10));
    const problems: string[] = [];
    for (const rel of [...GO_BINARIES, ...C_BINARIES]) {
      const buf = await readFile(join(build, rel));
      if (!isElf(buf)) {
        problems.push(`${rel}: not an ELF file`);
        continue;
      }
      if (GO_BINARIES.includes(rel) && goBuildId(buf) !== undefined) problems.push(`${rel}: Go build id ${JSON.stringify(goBuildId(buf))} (the link needs -buildid=)`);
      for (const p of paths) if (buf.includes(p)) problems.push(`${rel}: holds the build path ${p}`);
      for (const d of days) if (buf.includes(d)) problems.push(`${rel}: holds ${d}, a date of the run`);
    }
    // cri-o's version stamp: the commit time, not the time of the build (EXTRA_LDFLAGS in the recipe).
    const record = JSON.parse(await readFile(join(build, 'cri-o.json'), 'utf8')) as { commitTime: number };
    const crio = await readFile(join(build, 'cri-o/bin/crio'));
    if (!crio.includes(buildDate(record.commitTime))) problems.push(`cri-o/bin/crio: buildDate ${buildDate(record.commitTime)} (the commit time) is not in it`);
    // C binaries get a GNU build-id from the linker: a hash of the content, equal in both runs (compared above).
    assert.ok(gnuBuildId(await readFile(join(build, 'conmon/bin/conmon'))), 'conmon has a GNU build-id note');
    assert.deepEqual(problems, [], problems.join('\n'));
  });
});
