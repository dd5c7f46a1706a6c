/**
 * Item 3 of the Packages issue: the version scheme, proved with dpkg's own comparison
 * (`dpkg --compare-versions`), from the upstream versions the resolver computes
 * (src/recipe/version.ts) to the Debian versions the package stage writes (src/plan/naming.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { debFileName, debName, debVersion } from '../../src/plan/naming.js';
import { upstreamVersion } from '../../src/recipe/version.js';
import { dpkgCompare, run } from './helpers.js';

const BRANCH = { versionTags: 'v1.18.*', kubernetes: '1.18' };
const TAGS = new Map([
  ['v1.18.2', 'a'.repeat(40)],
  ['v1.18.3', 'b'.repeat(40)],
  ['v1.18.3-rc.1', 'c'.repeat(40)], // not a release tag: ignored
]);
const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The Debian version of a nightly of release-1.18 at `commit`/`time`. */
function nightly(commit: string, iso: string): string {
  return debVersion(upstreamVersion({ branch: 'release-1.18' }, commit, at(iso), TAGS, BRANCH));
}

async function assertOrder(lower: string, higher: string): Promise<void> {
  assert.ok(await dpkgCompare(lower, 'lt', higher), `dpkg: expected ${lower} << ${higher}`);
  assert.ok(await dpkgCompare(higher, 'gt', lower), `dpkg: expected ${higher} >> ${lower}`);
}

/** The candidate version apt shows for `pkg` from the machine's configured Debian archive. */
async function distroCandidate(pkg: string): Promise<string | undefined> {
  const r = await run('apt-cache', ['policy', pkg]);
  return /^\s*Candidate:\s*(\S+)$/m.exec(r.stdout)?.[1];
}

describe('Debian versions apt orders right (dpkg --compare-versions)', () => {
  test('a tagged release: v1.18.3 -> 100:1.18.3-1', async () => {
    const v = debVersion(upstreamVersion({ tag: 'v1.18.3' }, 'b'.repeat(40), at('2020-07-01T00:00:00Z'), TAGS, BRANCH));
    assert.equal(v, '100:1.18.3-1');
    // Also what a branch head exactly at the tag gives.
    assert.equal(debVersion(upstreamVersion({ branch: 'release-1.18' }, 'b'.repeat(40), at('2020-07-01T00:00:00Z'), TAGS, BRANCH)), '100:1.18.3-1');
    assert.ok(await dpkgCompare(v, 'eq', '100:1.18.3-1'));
  });

  test('a nightly sorts above its last tag and below the next release', async () => {
    const n = nightly('abcdef1234567890abcdef1234567890abcdef12', '2020-06-01T12:00:00Z');
    assert.equal(n, '100:1.18.3+git20200601120000.abcdef1-1');
    await assertOrder('100:1.18.3-1', n);
    await assertOrder(n, '100:1.18.4-1');
    await assertOrder(n, '100:1.18.4~rc1-1'); // even below a release candidate of the next patch release
    await assertOrder('100:1.18.2-1', n);
  });

  test('successive nightlies sort by commit time, whatever their commit ids', async () => {
    const first = nightly('ffffff0000000000000000000000000000000000', '2020-06-01T12:00:00Z');
    const second = nightly('0000001111111111111111111111111111111111', '2020-06-01T12:00:01Z');
    const third = nightly('8888888888888888888888888888888888888888', '2020-06-02T00:00:00Z');
    await assertOrder(first, second);
    await assertOrder(second, third);
    // The release that follows them is above all of them.
    await assertOrder(third, '100:1.18.4-1');
  });

  test('a development nightly (no release on the branch yet) sorts below that release', async () => {
    const dev = debVersion(upstreamVersion({ branch: 'main' }, '1234567'.padEnd(40, '0'), at('2020-06-01T12:00:00Z'), new Map(), { versionTags: 'v1.19.*', kubernetes: '1.19' }));
    assert.equal(dev, '100:1.19.0~dev+git20200601120000.1234567-1');
    await assertOrder(dev, '100:1.19.0-1');
    await assertOrder('100:1.18.9-1', dev);
  });

  test('our CNI plugins sort above the distribution\'s, and Debian\'s cannot satisfy cri-o\'s Depends; conmon is not replaced', async () => {
    // What this machine's Debian archive offers (bookworm: containernetworking-plugins 1.1.1+ds1-3+b5);
    // the bookworm value when apt has no lists.
    const cni = (await distroCandidate('containernetworking-plugins')) ?? '1.1.1+ds1-3+b5';
    assert.ok(!cni.startsWith('100:'), `apt-cache policy shows our own plugins (${cni}); run on a machine without our repository`);
    await assertOrder(cni, debVersion('0.8.1'));
    // cri-o Depends: containernetworking-plugins (>= 100:0.8.1-1): the distribution's higher upstream version does not satisfy it.
    assert.ok(await dpkgCompare(cni, 'lt', '100:0.8.1-1'));
    // Raspberry Pi OS and Ubuntu carry higher-numbered builds too; epoch 100 is above any epoch they use.
    await assertOrder('1:9.9.9-1', debVersion('0.8.1'));
    // Our conmon has a name of its own (cri-o-conmon): Debian's conmon, which podman needs, keeps its name.
    assert.equal(debName('conmon'), 'cri-o-conmon');
  });

  test('file names are asset-safe and the version stays in the control file', () => {
    const v = debVersion('1.18.3+git20200601120000.abcdef1');
    const name = debFileName('cri-o', v, 'arm64');
    assert.equal(name, 'cri-o_1.18.3_git20200601120000.abcdef1-1_arm64.deb');
    assert.doesNotMatch(name, /[+~:]/);
    assert.equal(debFileName('cri-o', debVersion('1.19.0~dev+git20200601120000.1234567'), 'amd64'), 'cri-o_1.19.0_dev_git20200601120000.1234567-1_amd64.deb');
  });
});
