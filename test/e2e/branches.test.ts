/**
 * Every branch builds what its own release build would: the real recipes, through the real CLI, on
 * the miniature upstreams that reproduce each branch's build interface (test/fixtures/README.md).
 * For each branch (arm64, cross; release-1.15 also amd64): the binaries that exist on that branch,
 * `crio --version` with the branch's version, the built commit (and a clean tree where the branch
 * reports one), the build tags of upstream's release build as the binary records them (Go's build
 * info, read with the host's Go), the C libraries those tags link in the package's Depends, the
 * companions each branch's CI uses; and a recipe whose later make call relinks bin/crio (the
 * release-1.16 trap) fails, naming the binary and both steps.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { runCli } from '../helpers/cli.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';

/** The host's Go (Debian's golang-1.19, installed by scripts/provision-host.sh) reads any arch's build info. */
const HOST_GO = '/usr/lib/go-1.19/bin/go';

interface Expect {
  binaries: string[];
  treeState: boolean;
  tags: string[];
  depends: string[];
  /** The cri-o-conmon package's version. */
  conmon: RegExp;
  crictl: string;
}
const RELEASE_TAGS = ['apparmor', 'seccomp', 'selinux', 'containers_image_ostree_stub'];
const LINKED = ['libseccomp2', 'libgpgme11', 'libdevmapper1.02.1'];
const BRANCHES: Record<string, Expect> = {
  'release-1.13': { binaries: ['crio', 'pause'], treeState: false, tags: RELEASE_TAGS, depends: LINKED, conmon: /^100:2\.0\.12-1$/, crictl: '1.13.0' },
  'release-1.14': { binaries: ['crio', 'pause'], treeState: false, tags: RELEASE_TAGS, depends: LINKED, conmon: /^100:2\.0\.11-1$/, crictl: '1.14.0' },
  'release-1.15': { binaries: ['crio', 'pause'], treeState: false, tags: RELEASE_TAGS, depends: LINKED, conmon: /^100:1\.15\.0\+git\d{14}\.[0-9a-f]{7}-1$/, crictl: '1.14.0' },
  'release-1.16': { binaries: ['crio', 'crio-status', 'pause'], treeState: false, tags: RELEASE_TAGS, depends: LINKED, conmon: /^100:2\.0\.15-1$/, crictl: '1.16.0' },
  'release-1.17': { binaries: ['crio', 'crio-status', 'pinns'], treeState: false, tags: RELEASE_TAGS, depends: LINKED, conmon: /^100:2\.0\.15-1$/, crictl: '1.17.0' },
  'release-1.18': { binaries: ['crio', 'crio-status', 'pinns'], treeState: true, tags: [...RELEASE_TAGS, 'netgo'], depends: LINKED, conmon: /^100:2\.0\.19-1$/, crictl: '1.18.0' },
  main: { binaries: ['crio', 'pinns'], treeState: true, tags: ['netgo', 'osusergo', 'seccomp', 'apparmor', 'selinux'], depends: ['libseccomp2', 'libgpgme11'], conmon: /^100:2\.1\.13-1$/, crictl: '1.36.0' },
};

describe('every branch builds what its own release build would (real recipes, miniature upstreams)', () => {
  let site: TestSite;
  before(async () => {
    const dir = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
  });
  after(() => site?.close());

  const build = async (branch: string, arch: string) => {
    const r = await runCli([branch, '--arch', arch, '--stop-after', 'package', ...site.args]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    return join(site.artifactsDir, branch, arch);
  };
  const log = (dir: string, component: string) => readFileSync(join(dir, 'logs', `${component}.log`), 'utf8');
  const field = (deb: string, name: string) => execFileSync('dpkg-deb', ['-f', deb, name], { encoding: 'utf8' }).trim();

  for (const [branch, want] of Object.entries(BRANCHES)) {
    for (const arch of branch === 'release-1.15' ? ['arm64', 'amd64'] : ['arm64']) {
      test(`${branch} ${arch}`, async () => {
        const dir = await build(branch, arch);
        const commit = site.upstreams.crio.branches[branch]!;
        const bins = readdirSync(join(dir, 'build', 'cri-o', 'bin')).sort();
        assert.deepEqual(bins, [...want.binaries].sort(), 'the binaries that exist on this branch, and only those');

        const crio = log(dir, 'cri-o');
        const version = crio.slice(crio.indexOf('$ bin/crio --version'));
        assert.match(version, new RegExp(`crio version ${branch === 'main' ? '1\\.37' : branch.replace('release-', '').replace('.', '\\.')}\\.\\d+`), 'the branch\'s version');
        assert.ok(version.slice(0, 600).includes(commit), `the built commit ${commit} is stamped:\n${version.slice(0, 600)}`);
        if (want.treeState) assert.match(version.slice(0, 600), /GitTreeState:\s+clean/);
        else assert.doesNotMatch(version.slice(0, 600), /unknown/);

        // Go records the -tags of the build in the binary.
        const info = execFileSync(HOST_GO, ['version', '-m', join(dir, 'build', 'cri-o', 'bin', 'crio')], { encoding: 'utf8' });
        const tags = /-tags=(\S+)/.exec(info)?.[1]?.split(',') ?? [];
        for (const t of want.tags) assert.ok(tags.includes(t), `tag ${t} in ${tags.join(',')}`);
        assert.ok(!tags.includes('containers_image_openpgp'), 'gpgme is linked, as upstream releases do');

        const debs = readdirSync(join(dir, 'packages')).filter((f) => f.endsWith('.deb'));
        const criODeb = join(dir, 'packages', debs.find((f) => f.startsWith('cri-o_'))!);
        const depends = field(criODeb, 'Depends');
        for (const lib of want.depends) assert.match(depends, new RegExp(`(^|, )${lib.replace(/\./g, '\\.')} `), `${lib} in Depends: ${depends}`);
        if (!want.depends.includes('libdevmapper1.02.1')) assert.doesNotMatch(depends, /libdevmapper/);

        // The companions that branch's CI tests with (built once per key: a later branch may reuse them,
        // so they are read from the packages and the binaries rather than from this run's logs).
        const deb = (name: string) => join(dir, 'packages', debs.find((f) => f.startsWith(`${name}_`))!);
        assert.match(field(deb('cri-o-conmon'), 'Version'), want.conmon);
        if (branch === 'release-1.15') assert.match(log(dir, 'conmon'), /^conmon version 1\.15\.0$/m, "cri-o's own conmon, stamped with cri-o's version");
        assert.equal(field(deb('cri-tools'), 'Version'), `100:${want.crictl}-1`);
        // crictl is static (CGO_ENABLED=0): it runs here, an arm64 one through qemu's binfmt handler.
        const crictl = execFileSync(join(dir, 'build', 'cri-tools', '_output', 'crictl'), ['--version'], { encoding: 'utf8' });
        assert.equal(crictl.trim(), `crictl version ${want.crictl}`);
      });
    }
  }

  test('a later make call that relinks an earlier binary fails the build, naming both steps', async () => {
    // release-1.16's bin/crio is .PHONY and `docs` needs `completions: binaries`: split into two make
    // calls, the second relinks crio with the default tags (what the old recipe shipped).
    const recipes = join(site.root, 'recipes-split');
    cpSync(new URL('../../../recipes', import.meta.url), recipes, { recursive: true });
    const file = join(recipes, 'branches', 'release-1.16.yaml');
    const text = readFileSync(file, 'utf8');
    const oneCall = '      - [make, bin/crio, bin/crio-status, bin/pause, docs, "BUILDTAGS={buildTags}", "GIT_COMMIT={commit}", "SHRINKFLAGS=-s -w -buildid="]';
    assert.ok(text.includes(oneCall));
    writeFileSync(file, text.replace(oneCall, '      - [make, bin/crio, bin/crio-status, bin/pause, "BUILDTAGS={buildTags}", "GIT_COMMIT={commit}", "SHRINKFLAGS=-s -w -buildid="]\n      - [make, docs]'));
    const r = await runCli(['release-1.16', '--arch', 'arm64', '--stop-after', 'build', '--recipes', recipes, '--config', site.configPath, '--cache-dir', site.cacheDir, '--artifacts', join(site.root, 'split')]);
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    assert.match(r.stderr, /step 2\/2 \(make docs\) rebuilt bin\/crio(-status|)?, which step 1 made/);
  });
});
