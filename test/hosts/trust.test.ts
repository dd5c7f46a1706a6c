/**
 * Remote hosts that are who they say. The settings' rules (tcp needs TLS unless `insecure: true`,
 * ssh host keys from the settings or known_hosts), then real endpoints on 127.0.0.1 in front of a
 * second real Docker engine: a TLS dockerd (certificates made here with openssl) and Debian's
 * openssh-server whose forced command joins the engine's socket (`docker system dial-stdio`). A
 * build runs on each; a certificate from another CA, an unknown, a wrong and a changed ssh host
 * key, and a plain tcp endpoint are refused through the CLI, each naming what it saw and what is
 * allowed; `insecure: true` is accepted with a warning on every run; `doctor` checks every host.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { defaultHostConfig, loadSettings, type HostConfig, type Settings } from '../../src/settings/settings.js';
import { baseImageTag } from '../../src/hosts/images/base-image.js';
import { builderSpecFor, ensureBuilderImage } from '../../src/hosts/images/builder-image.js';
import { connectDocker, transferImage, type DockerDriver } from '../../src/hosts/docker.js';
import type { BuilderEvent } from '../../src/hosts/events.js';
import { InvalidInputError } from '../../src/core/errors.js';
import { buildAll } from '../../src/build/build-all.js';
import { connectHost, HostTrustError, knownHostKeys, sshFingerprint } from '../../src/hosts/host-trust.js';
import { plan as makePlan, type Plan } from '../../src/plan/planner.js';
import { loadRecipes } from '../../src/recipe/loader.js';
import { findBranch, resolveSources } from '../../src/source/resolver.js';
import { fetchAll, type Fetched } from '../../src/fetch/fetch-all.js';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { startSecondDockerd, type SecondEngine } from '../helpers/second-dockerd.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';
import { startSshd, type SshEndpoint } from '../helpers/sshd.js';
import { makeTlsSet, type TlsSet } from '../helpers/tls-certs.js';
import { tempDir } from '../helpers/tmp.js';

const writeConfig = async (yaml: string) => {
  const file = join(await tempDir('crio-build-trust-config-'), 'config.yaml');
  writeFileSync(file, yaml);
  return file;
};

describe('host trust: the settings', () => {
  for (const [what, entry, problem] of [
    ['a tcp:// engine without TLS', '{ name: pi, endpoint: "tcp://pi4.lan:2375", platforms: [arm64], concurrency: 1 }', /hosts\.0\.tls: a tcp:\/\/ engine needs TLS: .*\(allowed: tls: \{ ca, cert, key \}, or insecure: true to accept a plain-text engine, warned about on every run\)/],
    ['insecure together with tls', '{ name: pi, endpoint: "tcp://pi4.lan:2376", tls: { ca: a, cert: b, key: c }, insecure: true, platforms: [arm64], concurrency: 1 }', /hosts\.0\.insecure: insecure and tls exclude each other/],
    ['insecure on a unix socket', '{ name: l, endpoint: "unix:///s.sock", insecure: true, platforms: [amd64], concurrency: 1 }', /hosts\.0\.insecure: insecure applies to tcp:\/\/ endpoints only/],
    ['insecure: false (only true means anything)', '{ name: pi, endpoint: "tcp://pi4.lan:2375", insecure: false, platforms: [arm64], concurrency: 1 }', /hosts\.0\.insecure/],
    ['ssh settings on a tcp endpoint', '{ name: pi, endpoint: "tcp://pi4.lan:2376", tls: { ca: a, cert: b, key: c }, ssh: { hostKey: "SHA256:0000000000000000000000000000000000000000000" }, platforms: [arm64], concurrency: 1 }', /hosts\.0\.ssh: ssh applies to ssh:\/\/ endpoints only/],
    ['a host key that is not a fingerprint', '{ name: b, endpoint: "ssh://ci@10.0.0.7", ssh: { hostKey: "ssh-ed25519 AAAA" }, platforms: [arm64], concurrency: 1 }', /hosts\.0\.ssh\.hostKey: .*SHA256: and 43 base64 characters/],
    ['an unknown ssh key', '{ name: b, endpoint: "ssh://ci@10.0.0.7", ssh: { password: x }, platforms: [arm64], concurrency: 1 }', /hosts\.0\.ssh\.password: unknown key "password" \(allowed: hostKey, knownHosts, identity\)/],
  ] as const) {
    test(`refuses ${what}`, async () => {
      await assert.rejects(loadSettings({ config: await writeConfig(`hosts:\n  - ${entry}\n`) }), (err: Error) => {
        assert.ok(err instanceof InvalidInputError, err.message);
        assert.match(err.message, problem);
        return true;
      });
    });
  }

  test('ssh files are relative to the settings file; one fingerprint or several', async () => {
    const file = await writeConfig(
      'hosts:\n  - { name: b, endpoint: "ssh://ci@10.0.0.7:2222", ssh: { hostKey: "SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", knownHosts: kh, identity: keys/id }, platforms: [arm64], concurrency: 1 }\n' +
        '  - { name: p, endpoint: "tcp://10.0.0.8:2375", insecure: true, platforms: [arm64], concurrency: 1 }\n',
    );
    const s = await loadSettings({ config: file });
    assert.deepEqual(s.hosts![0]!.ssh, { hostKey: ['SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ'], knownHosts: join(file, '..', 'kh'), identity: join(file, '..', 'keys/id') });
    assert.equal(s.hosts![1]!.insecure, true);
  });

  test('a tcp:// DOCKER_HOST without TLS is refused too; with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH it gets TLS', async () => {
    const saved = { ...process.env };
    try {
      process.env.DOCKER_HOST = 'tcp://127.0.0.1:9';
      delete process.env.DOCKER_TLS_VERIFY;
      await assert.rejects(connectHost(defaultHostConfig()), (e: Error) => e instanceof InvalidInputError && /a tcp:\/\/ engine without TLS is not used/.test(e.message) && /insecure: true/.test((e as InvalidInputError).hint ?? ''));
      process.env.DOCKER_TLS_VERIFY = '1';
      process.env.DOCKER_CERT_PATH = '/etc/docker-certs';
      assert.deepEqual(defaultHostConfig().tls, { ca: '/etc/docker-certs/ca.pem', cert: '/etc/docker-certs/cert.pem', key: '/etc/docker-certs/key.pem' });
    } finally {
      for (const k of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  test('known_hosts: plain, [host]:port, hashed, wildcard, negated and @revoked entries; fingerprints as ssh-keygen prints them', async () => {
    const dir = await tempDir('crio-build-known-hosts-');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    const pub = readFileSync(join(dir, 'k.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const blob = Buffer.from(pub.split(' ')[1]!, 'base64');
    assert.equal(sshFingerprint(blob), execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1]);
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `# comment\n[10.0.0.7]:2222 ${pub}\nplain.example ${pub}\n*.lan,!evil.lan ${pub}\n@revoked bad.example ${pub}\n@cert-authority *.corp ${pub}\nhashed.example ${pub}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const names = (host: string) => knownHostKeys(file, host).map((e) => `${e.marker ?? 'key'}:${e.type}`);
    assert.deepEqual(names('[10.0.0.7]:2222'), ['key:ssh-ed25519']);
    assert.deepEqual(names('10.0.0.7'), [], 'port 22 is another entry');
    assert.deepEqual(names('plain.example'), ['key:ssh-ed25519']);
    assert.deepEqual(names('hashed.example'), ['key:ssh-ed25519'], 'hashed by ssh-keygen -H');
    assert.match(readFileSync(file, 'utf8'), /^\|1\|/m);
    assert.deepEqual(names('pi4.lan'), ['key:ssh-ed25519']);
    assert.deepEqual(names('evil.lan'), []);
    assert.deepEqual(names('bad.example'), ['revoked:ssh-ed25519']);
    assert.deepEqual(names('x.corp'), ['cert-authority:ssh-ed25519']);
  });
});

/** A plain-text tcp endpoint on 127.0.0.1 for an engine's unix socket (what `-H tcp://` without TLS serves). */
async function plainTcp(socket: string): Promise<{ port: number; server: Server }> {
  const server = createServer((c) => {
    const up = netConnect(socket);
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

describe('host trust: a TLS engine and an ssh endpoint on 127.0.0.1 (release-1.18 arm64, cross)', () => {
  let site: TestSite;
  let settings: Settings;
  let full: Plan;
  let plan: Plan;
  let fetched: Fetched;
  let engine: SecondEngine;
  let sshd: SshEndpoint;
  let good: TlsSet;
  let other: TlsSet;
  let tlsPort: number;
  let plain: { port: number; server: Server };
  let dir: string;
  const timings: string[] = [];

  before(async () => {
    const t0 = Date.now();
    dir = await tempDir('crio-build-trust-');
    const tc = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', tc), makeGoToolchainTarball('arm64', tc)]);
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
    settings = await loadSettings({ config: site.configPath, cacheDir: site.cacheDir });
    const recipes = await loadRecipes();
    const resolution = await resolveSources(recipes, findBranch(recipes, 'release-1.18').name, settings);
    full = await makePlan(recipes, resolution, settings, { arch: 'arm64' });
    fetched = await fetchAll(full, settings);
    // One component is enough to show the build over ssh.
    plan = { ...full, components: full.components.filter((c) => c.name === 'conmon'), jobs: full.jobs.map((j) => ({ ...j })) };
    good = makeTlsSet(dir, 'engine');
    other = makeTlsSet(dir, 'other');
    tlsPort = 20000 + Math.floor(Math.random() * 20000);
    engine = await startSecondDockerd({ network: 'nat', tcp: { port: tlsPort, tls: { ca: good.ca, cert: good.serverCert, key: good.serverKey } } });
    const t1 = Date.now();
    // The engine gets the base and builder images from the main one (a farm seeds hosts the same way).
    const main = await connectDocker({ host: 'unix:///var/run/docker.sock' });
    const c = plan.components[0]!;
    const spec = builderSpecFor({ arch: 'arm64', strategy: c.strategy, build: c.build, toolchain: { name: c.toolchain.name, version: c.toolchain.version, tarball: fetched.toolchains[`${c.toolchain.name}:${c.toolchain.arch}`]!.path, sha256: c.toolchain.sha256, root: c.toolchain.root, arch: c.toolchain.arch, env: c.toolchain.env } }, full.hostArch);
    const builder = await ensureBuilderImage(main, spec);
    for (const ref of [baseImageTag(spec.platform), builder.tag]) await transferImage(main, engine.driver, ref);
    const t2 = Date.now();
    sshd = await startSshd(dir, engine.socket);
    plain = await plainTcp(engine.socket);
    timings.push(`site and fetch ${((t1 - t0) / 1000).toFixed(1)}s (engine up), seeding ${((t2 - t1) / 1000).toFixed(1)}s`);
  });

  after(async () => {
    plain?.server.close();
    await sshd?.close();
    await engine?.cleanup();
    await site?.close();
    console.log(`# trust timings: ${timings.join('; ')}`);
  });

  const tlsHost = (set: TlsSet): HostConfig => ({ name: 'tls-engine', endpoint: `tcp://127.0.0.1:${tlsPort}`, tls: { ca: set.ca, cert: set.clientCert, key: set.clientKey }, platforms: ['amd64'], concurrency: 1 });
  const sshHost = (ssh: HostConfig['ssh']): HostConfig => ({ name: 'ssh-engine', endpoint: `ssh://root@127.0.0.1:${sshd.port}`, ssh: { identity: sshd.clientKey, ...ssh }, platforms: ['amd64'], concurrency: 1 });
  const freshSettings = async (name: string): Promise<Settings> => ({ ...settings, cacheDir: await tempDir(`crio-build-trust-${name}-`) });

  /** A settings file: the site's (mirrors, toolchains, pins) plus these hosts, in YAML as a user writes it. */
  const settingsFile = (name: string, hosts: object[]): string => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify({ ...(parse(readFileSync(site.configPath, 'utf8')) as object), hosts }));
    return file;
  };
  const cli = (config: string, extra: string[] = []): ReturnType<typeof runCli> => runCli(['release-1.18', '--arch', 'arm64', '--stop-after', 'build', '--config', config, '--cache-dir', site.cacheDir, '--artifacts', join(dir, 'artifacts'), ...extra]);
  const yamlHost = (h: HostConfig) => ({ ...h });

  test('a build on the TLS engine: its certificate checked against the CA of the settings', async (t) => {
    const events: BuilderEvent[] = [];
    const t0 = Date.now();
    // The whole release, into the site's cache: the CLI runs below find it there.
    const out = await buildAll(full, fetched, { settings, artifactsDir: join(dir, 'art-tls'), force: true, hosts: [tlsHost(good)], onEvent: (e) => events.push(e) });
    timings.push(`build of 4 components over TLS ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    t.diagnostic(timings.at(-1)!);
    assert.deepEqual(out.map((o) => [o.component.name, o.host, o.cacheHit]), full.components.map((c) => [c.name, 'tls-engine', false]));
    assert.ok(out.find((o) => o.component.name === 'conmon')!.result.outputs.some((o) => o.path === 'bin/conmon'));
    assert.ok(!events.some((e) => /building builder|debootstrap/.test(e.message)), 'the seeded images were used');
  });

  test('a build over ssh: the host key checked against the fingerprint in the settings', async (t) => {
    const t0 = Date.now();
    const [out] = await buildAll(plan, fetched, { settings: await freshSettings('ssh'), artifactsDir: join(dir, 'art-ssh'), force: true, hosts: [sshHost({ hostKey: [sshd.hostFingerprint] })] });
    timings.push(`build over ssh ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    t.diagnostic(timings.at(-1)!);
    assert.equal(out!.host, 'ssh-engine');
    assert.ok(out!.result.outputs.some((o) => o.path === 'bin/conmon'));
    assert.match(sshd.log(), /Accepted publickey for root/);
    // known_hosts that knows the key does as well.
    const kh = join(dir, 'known_hosts-good');
    writeFileSync(kh, `${sshd.knownHostsLine}\n`);
    const d = await connectHost(sshHost({ knownHosts: kh }));
    assert.equal(await d.hostArch(), 'amd64');
    assert.equal(d.endpoint, `ssh://root@127.0.0.1:${sshd.port}`);
    await d.close?.();
  });

  test('refused through the CLI: a certificate from another CA, a plain tcp endpoint; insecure: true is used with a warning on every run', async () => {
    const wrongCa = await cli(settingsFile('wrong-ca', [yamlHost(tlsHost(other))]));
    assert.equal(wrongCa.code, 5, wrongCa.stderr);
    assert.match(wrongCa.stderr, new RegExp(`host tls-engine \\(tcp://127\\.0\\.0\\.1:${tlsPort}\\) presented the TLS certificate "127\\.0\\.0\\.1" issued by "engine test CA" \\(SHA256 fingerprint [0-9A-F:]{95}\\), which is refused: .*\\(not signed by the CA in ${other.ca.replace(/[.]/g, '\\.')}\\); not connecting`));
    assert.match(wrongCa.stderr, /crio-build: the engine's certificate must be signed by the CA the settings name/);
    assert.equal(hasStackTrace(wrongCa.stderr), false);

    const plainHost = { name: 'plain', endpoint: `tcp://127.0.0.1:${plain.port}`, platforms: ['amd64'], concurrency: 1 };
    const refused = await cli(settingsFile('plain', [plainHost]));
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /hosts\.0\.tls: a tcp:\/\/ engine needs TLS: .*allowed: tls: \{ ca, cert, key \}, or insecure: true/);

    // Said so: used, and said so on every run (the builds are cache hits here: the TLS test made them).
    const config = settingsFile('insecure', [{ ...plainHost, insecure: true }]);
    for (let run = 0; run < 2; run++) {
      const ok = await cli(config);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stderr, new RegExp(`warning: host plain \\(tcp://127\\.0\\.0\\.1:${plain.port}\\) is reached WITHOUT TLS \\(insecure: true in the settings\\)`));
    }
  });

  test('refused through the CLI: a wrong ssh host key, an unknown one and a changed one, each with the fingerprint it saw', async () => {
    const logins = () => (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const before = logins();
    const seen = sshd.hostFingerprint.replace(/[+/]/g, (c) => `\\${c}`);
    const wrong = await cli(settingsFile('ssh-wrong', [yamlHost(sshHost({ hostKey: [sshd.otherFingerprint] }))]));
    assert.equal(wrong.code, 5, wrong.stderr);
    assert.match(wrong.stderr, new RegExp(`host ssh-engine \\(ssh://root@127\\.0\\.0\\.1:${sshd.port}\\) offered the ssh host key ${seen} \\(ssh-ed25519\\), which is not the one the settings name`));

    const empty = join(dir, 'known_hosts-empty');
    writeFileSync(empty, '');
    const unknown = await cli(settingsFile('ssh-unknown', [sshHost({ knownHosts: empty })]));
    assert.equal(unknown.code, 5, unknown.stderr);
    assert.match(unknown.stderr, new RegExp(`offered the ssh host key ${seen} \\(ssh-ed25519\\), which ${empty} does not know; not connecting to an unknown host`));
    assert.match(unknown.stderr, new RegExp(`ssh-keyscan -p ${sshd.port} 127\\.0\\.0\\.1 >> ${empty}`));

    const changedFile = join(dir, 'known_hosts-changed');
    writeFileSync(changedFile, `${sshd.otherKnownHostsLine}\n`);
    const changed = await cli(settingsFile('ssh-changed', [sshHost({ knownHosts: changedFile })]));
    assert.equal(changed.code, 5, changed.stderr);
    assert.match(changed.stderr, new RegExp(`the ssh host key CHANGED: .* has ${sshd.otherFingerprint.replace(/[+/]/g, (c) => `\\${c}`)} \\(ssh-ed25519, .*:1\\) for \\[127\\.0\\.0\\.1\\]:${sshd.port}, but the host offered ${seen}`));
    for (const r of [wrong, unknown, changed]) assert.equal(hasStackTrace(r.stderr), false);
    await assert.rejects(connectHost(sshHost({ knownHosts: changedFile })), HostTrustError);
    // The key is refused before logging in: none of them authenticated.
    assert.equal(logins(), before, 'no login with a refused host key');
  });

  test('doctor checks every host of the settings file, as a build connects, each finding with its fix', async () => {
    const kh = join(dir, 'known_hosts-doctor');
    writeFileSync(kh, `${sshd.knownHostsLine}\n`);
    const config = settingsFile('doctor', [
      yamlHost(tlsHost(good)),
      yamlHost({ ...tlsHost(other), name: 'tls-other-ca' }),
      sshHost({ knownHosts: kh }),
      yamlHost({ ...sshHost({ hostKey: [sshd.otherFingerprint] }), name: 'ssh-wrong-key' }),
      { name: 'plain', endpoint: `tcp://127.0.0.1:${plain.port}`, insecure: true, platforms: ['amd64'], concurrency: 1 },
      { name: 'gone', endpoint: 'unix:///nonexistent/docker.sock', platforms: ['amd64'], concurrency: 1 },
    ]);
    const r = await runCli(['doctor', '--json', '--config', config, '--cache-dir', site.cacheDir, '--artifacts', join(dir, 'artifacts')]);
    assert.equal(r.code, 5, r.stderr);
    const findings = JSON.parse(r.stdout) as { check: string; ok: boolean; detail: string; fix?: string }[];
    const f = (name: string) => findings.find((x) => x.check === `host ${name}`)!;
    assert.equal(f('tls-engine').ok, true);
    assert.match(f('tls-engine').detail, /Docker 20\.10\.\S+ .* on amd64, TLS certificate checked/);
    assert.equal(f('ssh-engine').ok, true);
    assert.match(f('ssh-engine').detail, /on amd64, ssh host key checked/);
    assert.equal(f('tls-other-ca').ok, false);
    assert.match(f('tls-other-ca').detail, /not signed by the CA in/);
    assert.match(f('tls-other-ca').fix ?? '', /signed by the CA the settings name/);
    assert.equal(f('ssh-wrong-key').ok, false);
    assert.match(f('ssh-wrong-key').detail, new RegExp(`offered the ssh host key ${sshd.hostFingerprint.replace(/[+/]/g, (c) => `\\${c}`)}`));
    assert.match(f('ssh-wrong-key').fix ?? '', /put its fingerprint in the settings/);
    assert.equal(f('plain').ok, true);
    assert.match(f('plain').detail, /WITHOUT TLS/);
    assert.match(f('plain').fix ?? '', /give it TLS/);
    assert.equal(f('gone').ok, false);
    assert.match(f('gone').detail, /unix:\/\/\/nonexistent\/docker\.sock: cannot reach the Docker engine/);
    assert.ok(f('gone').fix);
    for (const x of findings) if (!x.ok) assert.ok(x.fix, `${x.check} has a fix`);
  });
});
