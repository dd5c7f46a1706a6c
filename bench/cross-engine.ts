/**
 * Reproducible across machines, not only across runs: two `crio-build release-1.18 --arch arm64`
 * runs (cross, through the CLI), each on a Docker engine of its own (separate data roots, started
 * here, both empty), each making its own base image (debootstrap) and builder image (apt-get from
 * Debian's mirror) from scratch, with separate caches. Their packages must be byte-identical: every
 * .deb, the bundle and SHA256SUMS; any difference is printed down to the archive member
 * (test/reliability/diff-report.ts).
 *
 *   npm run bench:cross-engine            (= npx tsc -p . && node dist/bench/cross-engine.js)
 *
 * Not part of `npm test`: each engine makes a base and a builder image from nothing, about 15 to 25
 * minutes on a 2-core machine, more than the suite's budget allows. The in-suite proofs of the key
 * are test/hosts/builder-key.test.ts (one package apart gives another key) and the reliability
 * suite's two-build reproducibility test (one engine).
 *
 * What may differ between the machines and is reported, not required equal: the image ids (an
 * image's config has its creation time). The base images' content digests and the builder keys are
 * reported too: equal when the two debootstraps and apt-get runs installed the same versions (if the
 * bases differ, their layers are compared down to the file). Exit 0 when the packages are identical,
 * 1 when not; the figures go to bench/tmp/cross-engine.json.
 *
 * Needs root (a second dockerd, debootstrap), the main engine's tools (dockerd, containerd) and
 * Debian's mirror (the builder images' apt-get).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { baseDigestOf, baseImageTag } from '../src/hosts/images/base-image.js';
import type { DockerDriver } from '../src/hosts/docker.js';
import { TEST_CACHE } from '../test/build/fixtures.js';
import { makeGoToolchainTarball } from '../test/fixtures/toolchain.js';
import { runCli, type CliResult } from '../test/helpers/cli.js';
import { startSecondDockerd, type SecondEngine } from '../test/helpers/second-dockerd.js';
import { makeTestSite } from '../test/helpers/site.js';
import { tempDir } from '../test/helpers/tmp.js';
import { compareBytes, compareDirs, formatReport, readTar, type Difference } from '../test/reliability/diff-report.js';

const BRANCH = 'release-1.18';
const ARCH = 'arm64';

interface Machine {
  name: string;
  engine: SecondEngine;
  cache: string;
  artifacts: string;
  config: string;
  result?: CliResult;
  seconds?: number;
}

interface RecordedBuilder {
  key: string;
  imageId: string;
  base: { id: string; digest: string };
  packages: string[];
}

const say = (m: string) => console.log(`cross-engine: ${m}`);

/** The one layer of a base image (FROM scratch + ADD rootfs.tar), as `docker save` gives it. */
async function baseLayer(driver: DockerDriver, tag: string): Promise<Buffer> {
  const stream = await driver.client.getImage(tag).get();
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  const entries = await readTar(Buffer.concat(chunks));
  const layers = entries.filter((e) => /(^|\/)layer\.tar$|^blobs\/sha256\/[0-9a-f]{64}$/.test(e.name) && e.content && e.content.length > 1_000_000);
  if (layers.length !== 1) throw new Error(`${tag}: expected one layer in docker save's archive, found ${layers.length}`);
  return layers[0]!.content!;
}

async function main(): Promise<number> {
  const started = Date.now();
  const figures: Record<string, unknown> = { cpus: cpus().length, loadavgAtStart: loadavg()[0] };
  const dir = join(TEST_CACHE, 'toolchains');
  const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
  const site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
  const machines: Machine[] = [];
  try {
    for (const name of ['machine-a', 'machine-b']) {
      const engine = await startSecondDockerd({ network: 'nat' });
      const root = await tempDir(`crio-build-${name}-`);
      const config = join(root, 'config.yaml');
      // The site's settings (mirrors, toolchains, pins) with this machine's engine as the farm.
      writeFileSync(config, stringify({ ...(parse(readFileSync(site.configPath, 'utf8')) as object), hosts: [{ name, endpoint: engine.endpoint, platforms: ['amd64'], concurrency: 2 }] }));
      machines.push({ name, engine, cache: join(root, 'cache'), artifacts: join(root, 'artifacts'), config });
      const images = await engine.driver.listImages({});
      if (images.length !== 0) throw new Error(`${name}'s engine does not start empty (${images.length} images)`);
      say(`${name}: empty engine at ${engine.endpoint} (data root ${engine.root})`);
    }

    // Both at once, as two machines would run a nightly.
    await Promise.all(
      machines.map(async (m) => {
        const s = Date.now();
        m.result = await runCli([BRANCH, '--arch', ARCH, '--strategy', 'cross', '--stop-after', 'package', '--config', m.config, '--cache-dir', m.cache, '--artifacts', m.artifacts]);
        m.seconds = (Date.now() - s) / 1000;
        say(`${m.name}: exit ${m.result.code} after ${m.seconds.toFixed(0)} s`);
      }),
    );
    figures.runs = Object.fromEntries(machines.map((m) => [m.name, { exit: m.result!.code, seconds: Math.round(m.seconds!) }]));
    for (const m of machines) {
      if (m.result!.code !== 0) throw new Error(`${m.name} failed (exit ${m.result!.code}):\n${m.result!.stderr.slice(-4000)}`);
      if (!/debootstrap/.test(m.result!.stderr)) throw new Error(`${m.name} did not make its own base image`);
      if (!/building builder debian-bookworm for amd64 -> arm64 \(cross\)/.test(m.result!.stderr)) throw new Error(`${m.name} did not make its own builder image`);
    }

    // The images: ids differ by design; content digests and builder keys are equal exactly when the content is.
    const [a, b] = machines as [Machine, Machine];
    const bases = await Promise.all(machines.map(async (m) => (await m.engine.driver.inspectImage(baseImageTag('amd64')))!));
    const digests = bases.map((x) => baseDigestOf(x));
    figures.base = { ids: bases.map((x) => x.Id), digests, equal: digests[0] === digests[1] };
    say(`base images: ids ${bases.map((x) => x.Id.slice(7, 19)).join(' / ')}, content ${digests.map((d) => d.slice(7, 19)).join(' / ')}${digests[0] === digests[1] ? ' (equal)' : ' (DIFFERENT)'}`);
    if (digests[0] !== digests[1]) {
      const [la, lb] = await Promise.all(machines.map((m) => baseLayer(m.engine.driver, baseImageTag('amd64'))));
      const diffs = await compareBytes('base image', 'rootfs layer', la!, lb!);
      say(`the base images' roots differ:\n${formatReport(diffs)}`);
      figures.baseDifferences = diffs;
    }
    const records = machines.map((m) => JSON.parse(readFileSync(join(m.artifacts, BRANCH, ARCH, 'packages', 'release.json'), 'utf8')) as { components: Array<{ name: string; builder: RecordedBuilder }> });
    const builder = (i: number) => records[i]!.components[0]!.builder;
    const onlyA = builder(0).packages.filter((p) => !builder(1).packages.includes(p));
    const onlyB = builder(1).packages.filter((p) => !builder(0).packages.includes(p));
    figures.builder = { keys: [builder(0).key, builder(1).key], packages: [builder(0).packages.length, builder(1).packages.length], onlyA, onlyB };
    say(`builder keys ${builder(0).key.slice(0, 12)} / ${builder(1).key.slice(0, 12)} (${builder(0).packages.length} / ${builder(1).packages.length} Debian packages${onlyA.length + onlyB.length > 0 ? `; differ: ${onlyA.join(', ')} / ${onlyB.join(', ')}` : ', the same versions'})`);
    const keysAgree = (builder(0).key === builder(1).key) === (onlyA.length + onlyB.length === 0 && builder(0).base.digest === builder(1).base.digest);
    if (!keysAgree) say('ERROR: the builder keys are equal although the content differs, or differ although it is equal');

    // The packages: every file byte for byte. release.json holds each machine's image ids, host
    // name and time: compared above, not here.
    const packages = (m: Machine) => join(m.artifacts, BRANCH, ARCH, 'packages');
    const diffs: Difference[] = await compareDirs(packages(a), packages(b), {
      skip: [{ match: (rel) => rel === 'release.json', why: 'which machine, image ids and when: compared field by field above' }],
    });
    const sums = readFileSync(join(packages(a), 'SHA256SUMS'), 'utf8').trim().split('\n');
    figures.packages = { files: sums.length, differences: diffs, sha256sums: sums };
    say(`${sums.length} packaged files compared: ${diffs.length === 0 ? 'byte-identical' : formatReport(diffs)}`);
    for (const l of sums) say(`  ${l}`);
    figures.seconds = Math.round((Date.now() - started) / 1000);
    figures.loadavgAtEnd = loadavg()[0];
    mkdirSync('bench/tmp', { recursive: true });
    writeFileSync('bench/tmp/cross-engine.json', JSON.stringify(figures, null, 2) + '\n');
    say(`done in ${figures.seconds} s; figures in bench/tmp/cross-engine.json`);
    return diffs.length === 0 && keysAgree ? 0 : 1;
  } finally {
    for (const m of machines) await m.engine.cleanup();
    await site.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`cross-engine: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
