/**
 * Several Docker hosts: the config section, the endpoints, the scheduler's choices (with fake
 * engines), and then the real thing: two real Docker engines on this machine as a two-host farm,
 * the second seeded with images from the first, one of them stopped in the middle of a run.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type Docker from 'dockerode';
import { defaultHostConfig, loadSettings, type HostConfig, type Settings } from '../../src/settings/settings.js';
import { connectDocker, defaultRunId, dockerOptionsFor, LABEL_RUN, type DockerDriver } from '../../src/hosts/docker.js';
import type { BuilderEvent } from '../../src/hosts/events.js';
import { CrioBuildError, HostNotReadyError, InvalidInputError } from '../../src/core/errors.js';
import { buildAll, buildCacheDir, type BuiltComponentOutcome } from '../../src/build/build-all.js';
import { chooseHost, DependencyFailedError, HostLostError, HostPool, makeHost, type FarmHost, type FarmJob } from '../../src/hosts/pool.js';
import { plan as makePlan, type Plan } from '../../src/plan/planner.js';
import type { Arch } from '../../src/recipe/schema.js';
import { loadRecipes } from '../../src/recipe/loader.js';
import { findBranch, resolveSources } from '../../src/source/resolver.js';
import { fetchAll, type Fetched } from '../../src/fetch/fetch-all.js';
import { TEST_CACHE } from '../build/fixtures.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';
import { startSecondDockerd, type SecondEngine } from '../helpers/second-dockerd.js';
import { makeTestSite, type TestSite } from '../helpers/site.js';
import { tempDir } from '../helpers/tmp.js';

// ---------------------------------------------------------------------------------------------
// Fake engines for the scheduler's logic.

class FakeDriver implements DockerDriver {
  readonly name = 'fake';
  alive = true;
  constructor(
    readonly endpoint: string,
    private readonly arch: Arch = 'amd64',
  ) {}
  get client(): Docker {
    throw new Error('the fake engine has no client');
  }
  async ping(): Promise<void> {
    if (!this.alive) throw new HostNotReadyError(`cannot reach the Docker engine at ${this.endpoint}: connect ECONNREFUSED ${this.endpoint}`);
  }
  async hostArch(): Promise<Arch> {
    await this.ping();
    return this.arch;
  }
  buildImage(): Promise<string> {
    throw new Error('not in the fake');
  }
  pull(): Promise<void> {
    throw new Error('not in the fake');
  }
  async inspectImage(): Promise<undefined> {
    return undefined;
  }
  async listImages(): Promise<[]> {
    return [];
  }
  async removeImage(): Promise<void> {}
  async pruneDangling(): Promise<void> {}
  async tagImage(): Promise<void> {}
}

function fakeHost(name: string, platforms: Arch[], concurrency: number): FarmHost & { driver: FakeDriver } {
  return makeHost({ name, platforms, concurrency, endpoint: `fake://${name}` }, new FakeDriver(`fake://${name}`, platforms[0])) as FarmHost & { driver: FakeDriver };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('farm hosts: config and endpoints', () => {
  const writeConfig = async (yaml: string) => {
    const dir = await tempDir('crio-build-hosts-config-');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, yaml);
    return file;
  };

  test('a hosts: section lists endpoints with TLS files (relative to the config), platforms and concurrency', async () => {
    const file = await writeConfig(
      [
        'hosts:',
        '  - { name: local, endpoint: "unix:///var/run/docker.sock", platforms: [amd64], concurrency: 2 }',
        '  - name: pi4',
        '    endpoint: "tcp://pi4.lan:2376"',
        '    tls: { ca: certs/ca.pem, cert: certs/cert.pem, key: /etc/crio-build/key.pem }',
        '    platforms: [arm64]',
        '    concurrency: 1',
        '  - { name: builder-2, endpoint: "ssh://ci@10.0.0.7", platforms: [arm64, amd64], concurrency: 64 }',
        '',
      ].join('\n'),
    );
    const s = await loadSettings({ config: file });
    assert.equal(s.hosts?.length, 3);
    assert.deepEqual(s.hosts![0], { name: 'local', endpoint: 'unix:///var/run/docker.sock', platforms: ['amd64'], concurrency: 2, tls: undefined });
    assert.deepEqual(s.hosts![1]!.tls, { ca: join(file, '..', 'certs/ca.pem'), cert: join(file, '..', 'certs/cert.pem'), key: '/etc/crio-build/key.pem' });
    assert.deepEqual(s.hosts![2]!.platforms, ['arm64', 'amd64']);
  });

  test('without hosts: the local engine, its own arch, 2 at once', async () => {
    const s = await loadSettings({ config: await writeConfig('mirrors: []\n') });
    assert.equal(s.hosts, undefined);
    const d = defaultHostConfig();
    assert.equal(d.concurrency, 2);
    assert.deepEqual(d.platforms, [], 'empty: the engine is asked its arch');
    assert.equal(d.endpoint, process.env.DOCKER_HOST || 'unix:///var/run/docker.sock');
  });

  for (const [what, entry, problem] of [
    ['an http:// endpoint', '{ name: a, endpoint: "http://h:2375", platforms: [amd64], concurrency: 1 }', /hosts\.0\.endpoint: .*unix:\/\/\/path\/to\/docker\.sock, tcp:\/\/host:port or ssh:\/\/user@host/],
    ['tcp without a port', '{ name: a, endpoint: "tcp://h", platforms: [amd64], concurrency: 1 }', /hosts\.0\.endpoint/],
    ['tls on a unix socket', '{ name: a, endpoint: "unix:///s.sock", tls: { ca: a, cert: b, key: c }, platforms: [amd64], concurrency: 1 }', /hosts\.0\.tls: tls applies to tcp:\/\/ endpoints only/],
    ['an unknown arch', '{ name: a, endpoint: "unix:///s.sock", platforms: [riscv64], concurrency: 1 }', /hosts\.0\.platforms\.0: .*allowed: "arm64", "amd64"/],
    ['concurrency 0', '{ name: a, endpoint: "unix:///s.sock", platforms: [amd64], concurrency: 0 }', /hosts\.0\.concurrency/],
    ['concurrency 65', '{ name: a, endpoint: "unix:///s.sock", platforms: [amd64], concurrency: 65 }', /hosts\.0\.concurrency/],
    ['no platforms', '{ name: a, endpoint: "unix:///s.sock", platforms: [], concurrency: 1 }', /hosts\.0\.platforms/],
    ['an unknown key', '{ name: a, endpoint: "unix:///s.sock", platforms: [amd64], concurrency: 1, weight: 3 }', /hosts\.0\.weight: unknown key "weight" \(allowed: name, endpoint, tls, insecure, ssh, platforms, concurrency\)/],
  ] as const) {
    test(`rejects ${what}`, async () => {
      const file = await writeConfig(`hosts:\n  - ${entry}\n`);
      await assert.rejects(loadSettings({ config: file }), (err: Error) => {
        assert.ok(err instanceof InvalidInputError, err.message);
        assert.match(err.message, problem);
        return true;
      });
    });
  }

  test('rejects two hosts with one name', async () => {
    const file = await writeConfig('hosts:\n  - { name: a, endpoint: "unix:///1.sock", platforms: [amd64], concurrency: 1 }\n  - { name: a, endpoint: "unix:///2.sock", platforms: [amd64], concurrency: 1 }\n');
    await assert.rejects(loadSettings({ config: file }), /hosts\.1\.name: host name "a" is used twice/);
  });

  test('endpoints become dockerode options (nothing inherited from DOCKER_HOST)', async () => {
    assert.deepEqual(
      Object.fromEntries(Object.entries(dockerOptionsFor('unix:///run/x.sock')).filter(([, v]) => v !== undefined)),
      { socketPath: '/run/x.sock' },
    );
    const tcp = dockerOptionsFor('tcp://10.1.2.3:2375');
    assert.equal(tcp.host, '10.1.2.3');
    assert.equal(String(tcp.port), '2375');
    assert.equal(tcp.protocol, 'http');
    assert.equal(tcp.socketPath, undefined);

    const dir = await tempDir('crio-build-tls-');
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), `-----${f}-----\n`);
    const tls = dockerOptionsFor('tcp://pi4.lan:2376', { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
    assert.equal(tls.protocol, 'https');
    assert.equal(String(tls.ca), '-----ca.pem-----\n');
    assert.equal(String(tls.key), '-----key.pem-----\n');
    assert.throws(() => dockerOptionsFor('tcp://pi4.lan:2376', { ca: join(dir, 'nope.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }), /cannot read the TLS CA certificate .*nope\.pem/);

    const ssh = dockerOptionsFor('ssh://ci@10.0.0.7:2222');
    assert.equal(ssh.protocol, 'ssh');
    assert.equal(ssh.host, '10.0.0.7');
    assert.equal(ssh.username, 'ci');
    assert.equal(String(ssh.port), '2222');
    assert.throws(() => dockerOptionsFor('ftp://x'), /unsupported scheme ftp:/);
  });
});

describe('farm hosts: the scheduler (fake engines)', () => {
  test('native first; a full native host means wait; qemu only when no native host is up; down hosts are skipped', () => {
    const x86 = fakeHost('x86', ['amd64'], 2);
    const pi = fakeHost('pi', ['arm64'], 1);
    const pi2 = fakeHost('pi2', ['arm64'], 3);
    const hosts = [x86, pi, pi2];
    assert.deepEqual(pick(hosts, 'arm64'), ['pi2', true], 'the native host with the most free slots');
    pi2.active = 3;
    assert.deepEqual(pick(hosts, 'arm64'), ['pi', true]);
    pi.active = 1;
    assert.equal(chooseHost(hosts, 'arm64'), undefined, 'no native slot free: the job waits for one rather than run under qemu on x86');
    assert.deepEqual(pick(hosts, 'amd64'), ['x86', true]);
    x86.active = 2;
    assert.equal(chooseHost(hosts, 'arm64'), undefined, 'everything full: the job waits');
    pi2.active = 0;
    pi2.state = 'down';
    assert.equal(chooseHost(hosts, 'arm64'), undefined, 'a down host takes nothing');
    pi.active = 0;
    assert.equal(chooseHost(hosts, 'amd64'), undefined, 'the amd64 host is up but full: wait for it');
    x86.state = 'down';
    assert.deepEqual(pick(hosts, 'amd64'), ['pi', false], 'no amd64 host left: under qemu on the Pi');
  });

  test('each host runs at most its concurrency; jobs for an arch wait for its native hosts, and do not hold back other arches', async () => {
    const x86 = fakeHost('x86', ['amd64'], 2);
    const pi = fakeHost('pi', ['arm64'], 1);
    const pool = new HostPool([x86, pi], { healthIntervalMs: 0 });
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const jobs: FarmJob<string>[] = Array.from({ length: 9 }, (_, i) => ({
      id: `job${i}`,
      platform: i < 3 ? 'arm64' : 'amd64',
      run: async ({ host, native }) => {
        running.set(host.name, (running.get(host.name) ?? 0) + 1);
        peak.set(host.name, Math.max(peak.get(host.name) ?? 0, running.get(host.name)!));
        await sleep(30);
        running.set(host.name, running.get(host.name)! - 1);
        return `${host.name}:${native ? 'native' : 'qemu'}`;
      },
    }));
    const out = await pool.run(jobs);
    assert.ok(out.every((o) => o.status === 'done'));
    assert.equal(peak.get('x86'), 2);
    assert.equal(peak.get('pi'), 1);
    const value = (i: number) => (out[i]!.status === 'done' ? (out[i] as { value: string }).value : '');
    // The arm64 jobs wait for the Pi's one slot rather than run under qemu on x86, and while they
    // wait the amd64 jobs behind them take x86: every job ran natively.
    assert.deepEqual(out.map((_, i) => value(i)), [...Array(3).fill('pi:native'), ...Array(6).fill('x86:native')]);
    assert.equal(x86.active + pi.active, 0);
  });

  test('runs at once on one pool share the slots: a slot one run frees goes to another run\'s waiting job', async () => {
    const x86 = fakeHost('x86', ['amd64'], 1);
    const pool = new HostPool([x86], { healthIntervalMs: 0 });
    const order: string[] = [];
    const job = (id: string, ms: number): FarmJob<string> => ({
      id,
      platform: 'amd64',
      run: async () => {
        order.push(id);
        await sleep(ms);
        return id;
      },
    });
    // Run A's one job takes the slot; run B's jobs wait for it although A has nothing left to pump.
    const t0 = Date.now();
    const [a, b] = await Promise.all([pool.run([job('a1', 40)]), pool.run([job('b1', 10), job('b2', 10)])]);
    assert.deepEqual([...a, ...b].map((o) => o.status), ['done', 'done', 'done']);
    assert.deepEqual(order, ['a1', 'b1', 'b2'], 'one slot, taken in turn');
    assert.ok(Date.now() - t0 < 2000, 'no run waited for a pump that never came');
    assert.equal(x86.active, 0);
  });

  test('once: one build per key while the pool lives; a second asker waits for it and gets its result or its error', async () => {
    const pool = new HostPool([fakeHost('x86', ['amd64'], 1)], { healthIntervalMs: 0 });
    let made = 0;
    const make = (v: string) => async () => {
      made++;
      await sleep(20);
      if (v === 'bad') throw new Error('compile error');
      return v;
    };
    const first = pool.once('k1', make('v1'));
    const second = pool.once('k1', make('v2'));
    assert.deepEqual([first.first, second.first], [true, false]);
    assert.deepEqual(await Promise.all([first.result, second.result]), ['v1', 'v1']);
    assert.equal(await pool.once('k1', make('v3')).result, 'v1', 'after it is done too');
    const bad = pool.once('k2', make('bad'));
    await assert.rejects(pool.once('k2', make('v4')).result, /compile error/);
    await assert.rejects(bad.result, /compile error/);
    assert.equal(made, 2, 'k1 and k2 made once each');
  });

  test('a host that goes away mid-job: the job moves to another host, says so, and finishes there', async () => {
    const a = fakeHost('a', ['amd64'], 1);
    const b = fakeHost('b', ['amd64'], 1);
    const events: BuilderEvent[] = [];
    const pool = new HostPool([a, b], { healthIntervalMs: 0, onEvent: (e) => events.push(e) });
    const seen: string[] = [];
    const job = (id: string): FarmJob<string> => ({
      id,
      platform: 'amd64',
      run: async ({ host, attempt, movedFrom }) => {
        seen.push(`${id}@${host.name}#${attempt}${movedFrom ? ` from ${movedFrom.host}` : ''}`);
        await sleep(host.name === 'a' ? 60 : 10);
        if (host.name === 'b') {
          b.driver.alive = false;
          throw new Error('exec inspect: connect ECONNREFUSED /b.sock');
        }
        return host.name;
      },
    });
    const out = await pool.run([job('one'), job('two'), job('three')]);
    assert.deepEqual(out.map((o) => [o.id, o.status, 'host' in o ? o.host : undefined, o.attempts]), [
      ['one', 'done', 'a', 1],
      ['two', 'done', 'a', 2],
      ['three', 'done', 'a', 1],
    ]);
    assert.deepEqual(seen, ['one@a#1', 'two@b#1', 'two@a#2 from b', 'three@a#1'], 'the moved job goes first once a slot frees');
    assert.equal(b.state, 'down');
    const lines = events.map((e) => e.message);
    assert.ok(lines.includes('host b went away (connect ECONNREFUSED fake://b)'), lines.join('\n'));
    assert.ok(lines.includes('host b went away (connect ECONNREFUSED fake://b); retrying two on a'), lines.join('\n'));
  });

  test('a build failure on a host that still answers is not retried; it stops only its dependents', async () => {
    const a = fakeHost('a', ['amd64'], 2);
    const b = fakeHost('b', ['amd64'], 2);
    const pool = new HostPool([a, b], { healthIntervalMs: 0 });
    const runs: string[] = [];
    const job = (id: string, deps: string[] = [], fail = false): FarmJob<string> => ({
      id,
      platform: 'amd64',
      deps,
      run: async () => {
        runs.push(id);
        await sleep(10);
        if (fail) throw new CrioBuildError(`${id}: step 1/1 (make) exited 2 (the log says: connection refused)`, 1);
        return id;
      },
    });
    const out = await pool.run([job('base'), job('broken', [], true), job('needs-broken', ['broken']), job('needs-that', ['needs-broken']), job('needs-base', ['base'])]);
    const by = Object.fromEntries(out.map((o) => [o.id, o]));
    assert.equal(by.base!.status, 'done');
    assert.equal(by.broken!.status, 'failed');
    assert.equal(by.broken!.attempts, 1, 'not retried: the host still answers');
    assert.match((by.broken as { error: Error }).error.message, /exited 2/);
    assert.equal(by['needs-broken']!.status, 'skipped');
    assert.ok((by['needs-broken'] as { error: Error }).error instanceof DependencyFailedError);
    assert.equal(by['needs-that']!.status, 'skipped');
    assert.match((by['needs-that'] as { error: Error }).error.message, /needs-broken was not built/);
    assert.equal(by['needs-base']!.status, 'done');
    assert.deepEqual(runs.sort(), ['base', 'broken', 'needs-base']);
    assert.equal(a.state, 'up');
    assert.equal(b.state, 'up');
  });

  test('a job is moved at most maxRetries times', async () => {
    const hosts = ['h1', 'h2', 'h3', 'h4'].map((n) => fakeHost(n, ['amd64'], 1));
    const pool = new HostPool(hosts, { healthIntervalMs: 0, maxRetries: 2 });
    const tried: string[] = [];
    const [out] = await pool.run([
      {
        id: 'unlucky',
        platform: 'amd64',
        run: async ({ host }) => {
          tried.push(host.name);
          (host.driver as FakeDriver).alive = false;
          throw new Error('socket hang up');
        },
      },
    ]);
    assert.deepEqual(tried, ['h1', 'h2', 'h3'], 'first attempt and two moves');
    assert.equal(out!.status, 'failed');
    assert.equal(out!.attempts, 3);
    assert.ok((out as { error: Error }).error instanceof HostLostError);
    assert.match((out as { error: Error }).error.message, /unlucky: host h3 went away .* already moved 2 time\(s\)/);
    assert.equal(hosts[3]!.state, 'up');
  });

  test('the health check notices a host that hangs; the hung attempt is given up (aborted) and the job moves', async () => {
    const a = fakeHost('a', ['amd64'], 1);
    const b = fakeHost('b', ['amd64'], 1);
    const pool = new HostPool([b, a], { healthIntervalMs: 40, pingTimeoutMs: 100 });
    let hungAborted = false;
    const [out] = await pool.run([
      {
        id: 'stuck',
        platform: 'amd64',
        run: ({ host, signal }) => {
          if (host.name === 'b') {
            setTimeout(() => (b.driver.alive = false), 60);
            // Never settles on its own, like a build waiting on a dead tcp peer.
            return new Promise<string>(() => signal.addEventListener('abort', () => (hungAborted = true)));
          }
          return Promise.resolve('ok');
        },
      },
    ]);
    assert.equal(out!.status, 'done');
    assert.equal((out as { host: string }).host, 'a');
    assert.ok(hungAborted);
  });

  test('when every host is gone, what is left fails with a clear error', async () => {
    const a = fakeHost('a', ['amd64'], 1);
    const pool = new HostPool([a], { healthIntervalMs: 0 });
    const out = await pool.run([
      { id: 'first', platform: 'amd64', run: async () => ((a.driver.alive = false), Promise.reject(new Error('connect ENOENT /a.sock'))) },
      { id: 'second', platform: 'amd64', run: async () => 'never' },
    ]);
    for (const o of out) {
      assert.equal(o.status, 'failed');
      assert.match((o as { error: Error }).error.message, /no Docker host of the farm is left \(a: connect ECONNREFUSED fake:\/\/a\)/);
    }
  });

  test('connect: unreachable hosts are left out, all unreachable is "host not ready", a wrong platform is a config error', async () => {
    const drivers = new Map<string, FakeDriver>([
      ['up', new FakeDriver('fake://up', 'amd64')],
      ['dead', Object.assign(new FakeDriver('fake://dead'), { alive: false })],
      ['arm', new FakeDriver('fake://arm', 'arm64')],
    ]);
    const connect = async (c: HostConfig) => drivers.get(c.name)!;
    const cfg = (name: string, platforms: Arch[]): HostConfig => ({ name, endpoint: `fake://${name}`, platforms, concurrency: 1 });
    const events: string[] = [];
    const pool = await HostPool.connect([cfg('up', []), cfg('dead', ['amd64'])], { connect, onEvent: (e) => events.push(e.message) });
    assert.deepEqual(pool.hosts.map((h) => [h.name, h.platforms]), [['up', ['amd64']]], 'empty platforms: the engine says');
    assert.match(events.join('\n'), /host dead is not reachable \(connect ECONNREFUSED fake:\/\/dead\); building without it/);
    await assert.rejects(HostPool.connect([cfg('dead', ['amd64'])], { connect }), (err: Error) => err instanceof HostNotReadyError && /no Docker host of the farm answers/.test(err.message));
    await assert.rejects(HostPool.connect([cfg('arm', ['amd64'])], { connect }), /host arm \(fake:\/\/arm\): its engine runs on arm64, but the config says its platforms are \[amd64\]/);
  });
});

function pick(hosts: FarmHost[], platform: Arch): [string, boolean] | undefined {
  const c = chooseHost(hosts, platform);
  return c && [c.host.name, c.native];
}

// ---------------------------------------------------------------------------------------------
// Two real engines.

describe('farm hosts: two real Docker engines (release-1.18 arm64, cross)', () => {
  let site: TestSite;
  let settings: Settings;
  let plan: Plan;
  let fetched: Fetched;
  let engine1: DockerDriver;
  let engine2: SecondEngine;
  let seedSeconds = 0;
  const timings: string[] = [];

  before(async () => {
    const t0 = Date.now();
    const dir = join(TEST_CACHE, 'toolchains');
    const [amd64, arm64] = await Promise.all([makeGoToolchainTarball('amd64', dir), makeGoToolchainTarball('arm64', dir)]);
    site = await makeTestSite({ toolchainFiles: { amd64, arm64 } });
    settings = await loadSettings({ config: site.configPath, cacheDir: site.cacheDir });
    const recipes = await loadRecipes();
    const resolution = await resolveSources(recipes, findBranch(recipes, 'release-1.18').name, settings);
    plan = await makePlan(recipes, resolution, settings, { arch: 'arm64' });
    fetched = await fetchAll(plan, settings);
    engine1 = await connectDocker({ host: 'unix:///var/run/docker.sock' });
    const t1 = Date.now();
    engine2 = await startSecondDockerd();
    timings.push(`site, plan and fetch ${((t1 - t0) / 1000).toFixed(1)}s; second dockerd up in ${((Date.now() - t1) / 1000).toFixed(1)}s`);
  });

  after(async () => {
    await engine2?.cleanup();
    await site?.close();
    if (engine2) assert.equal(existsSync(engine2.root), false, 'the second engine leaves nothing behind');
    console.log(`# two-engine timings: ${timings.join('; ')}`);
  });

  const hosts = (c1: number, c2: number): HostConfig[] => [
    { name: 'engine1', endpoint: 'unix:///var/run/docker.sock', platforms: ['amd64'], concurrency: c1 },
    { name: 'engine2', endpoint: engine2.endpoint, platforms: ['amd64'], concurrency: c2 },
  ];
  const withCache = async (name: string): Promise<Settings> => ({ ...settings, cacheDir: await tempDir(`crio-build-hosts-${name}-`) });
  const ours = async (d: DockerDriver) => (await d.client.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_RUN}=${defaultRunId}`] }) })).map((c) => c.Names[0]);
  const outputsOf = (o: BuiltComponentOutcome) => o.result.outputs.map((x) => `${x.path} ${x.sha256}`).sort();

  test('the second engine is seeded from the first, builds are spread over both, and outputs equal a one-host build', async (t) => {
    assert.equal((await engine2.driver.listImages({})).length, 0, 'the second engine starts empty');
    const t0 = Date.now();
    const refSettings = await withCache('ref');
    const reference = await buildAll(plan, fetched, { settings: refSettings, artifactsDir: await tempDir('crio-build-hosts-ref-art-'), force: true, hosts: [hosts(2, 1)[0]!] });
    const t1 = Date.now();
    assert.ok(reference.every((o) => o.host === 'engine1' && !o.cacheHit));

    const events: BuilderEvent[] = [];
    const farmSettings = await withCache('farm');
    const artifactsDir = await tempDir('crio-build-hosts-art-');
    const farm = await buildAll(plan, fetched, { settings: farmSettings, artifactsDir, force: true, hosts: hosts(1, 1), poolOptions: { healthIntervalMs: 2000 }, onEvent: (e) => events.push(e) });
    const t2 = Date.now();
    const lines = events.map((e) => e.message);
    const seeded = lines.filter((l) => /^seeded .* on host engine2 from host engine1 in [\d.]+s$/.test(l));
    seedSeconds = seeded.reduce((sum, l) => sum + Number(/in ([\d.]+)s$/.exec(l)![1]), 0);
    timings.push(`one-host reference build ${((t1 - t0) / 1000).toFixed(1)}s; two-host build ${((t2 - t1) / 1000).toFixed(1)}s including seeding ${seedSeconds.toFixed(1)}s`);
    t.diagnostic(timings.join('; '));

    // Seeded, not built: the base and the builder came over from engine1, with the same ids.
    assert.equal(seeded.length, 2, `the base and the builder image are copied:\n${lines.join('\n')}`);
    assert.ok(!lines.some((l) => /building builder|debootstrap/.test(l)), 'nothing is built on the second engine');
    const builderTag = farm.find((o) => o.host === 'engine2')?.result.builderImage;
    assert.ok(builderTag, `some component was built on engine2: ${farm.map((o) => `${o.component.name}@${o.host}`).join(' ')}`);
    assert.equal((await engine2.driver.inspectImage(builderTag))?.Id, (await engine1.inspectImage(builderTag))?.Id);

    // Spread over both hosts, each recorded with the outcome and in the cache.
    assert.deepEqual(new Set(farm.map((o) => o.host)), new Set(['engine1', 'engine2']));
    for (const o of farm) {
      assert.equal(o.attempts, 1);
      assert.equal(o.result.host, o.host);
      const cached = JSON.parse(await readFile(join(buildCacheDir(farmSettings, o.component.buildKey), 'result.json'), 'utf8')) as { host: string };
      assert.equal(cached.host, o.host);
      assert.ok(lines.includes(`release-1.18/arm64 ${o.component.name}: on host ${o.host}`));
    }

    // Same content keys in both caches, and the same bytes came out of both engines.
    const keys = plan.components.map((c) => c.buildKey).sort();
    assert.deepEqual(readdirSync(join(refSettings.cacheDir, 'builds')).sort(), keys);
    assert.deepEqual(readdirSync(join(farmSettings.cacheDir, 'builds')).sort(), keys);
    for (const [i, o] of farm.entries()) {
      assert.equal(o.component.name, reference[i]!.component.name);
      assert.deepEqual(outputsOf(o), outputsOf(reference[i]!), `${o.component.name} built on ${o.host} equals the one-host build`);
    }
    assert.ok(existsSync(join(artifactsDir, 'release-1.18', 'arm64', 'build', 'cri-o', 'bin', 'crio')));

    // A rerun is all cache hits, and says who built each.
    const again = await buildAll(plan, fetched, { settings: farmSettings, artifactsDir, hosts: hosts(1, 1) });
    assert.deepEqual(again.map((o) => [o.cacheHit, o.host, o.attempts]), farm.map((o) => [true, o.host, 0]));

    assert.deepEqual(await ours(engine1), [], 'no containers left on engine1');
    assert.deepEqual(await ours(engine2.driver), [], 'no containers left on engine2');
  });

  test('the second engine stops in the middle of a run: its job moves to the first, everything is built', async (t) => {
    assert.ok(engine2.running());
    // Each build first sleeps a few seconds (its own content key, so nothing is mistaken for the
    // plain builds), so the engine is surely stopped while a build is running on it.
    const slow: Plan = {
      ...plan,
      components: plan.components.map((c) => {
        const build = { ...c.build, steps: [['sleep', '4'], ...c.build.steps] };
        return { ...c, build, buildInputs: { ...c.buildInputs, build } };
      }),
      jobs: plan.jobs.map((j) => ({ ...j })),
    };
    const events: BuilderEvent[] = [];
    const s = await withCache('fault');
    const artifactsDir = await tempDir('crio-build-hosts-fault-');
    const t0 = Date.now();
    const run = buildAll(slow, fetched, { settings: s, artifactsDir, force: true, hosts: hosts(1, 1), poolOptions: { healthIntervalMs: 2000, pingTimeoutMs: 5000 }, onEvent: (e) => events.push(e) });
    let settled = false;
    run.then(
      () => (settled = true),
      () => (settled = true),
    );

    // Wait for a build container on engine2, then stop that engine (SIGTERM, as `systemctl stop`).
    let victim: string | undefined;
    while (!victim && !settled && Date.now() - t0 < 300_000) {
      const list = await engine2.driver.client.listContainers({ filters: JSON.stringify({ label: ['io.crio-build.kind=build', `${LABEL_RUN}=${defaultRunId}`] }) });
      victim = list[0]?.Labels['io.crio-build.component'];
      if (!victim) await sleep(200);
    }
    assert.ok(victim, 'a build ran on engine2');
    const stopped = Date.now();
    await engine2.terminate();
    const built = await run;
    const t1 = Date.now();
    timings.push(`fault run ${((t1 - t0) / 1000).toFixed(1)}s (engine2 stopped ${((stopped - t0) / 1000).toFixed(1)}s in)`);
    t.diagnostic(timings.at(-1)!);

    assert.equal(engine2.running(), false);
    assert.deepEqual(built.map((o) => o.component.name), slow.components.map((c) => c.name), 'every component built');
    for (const o of built) {
      assert.equal(o.cacheHit, false);
      assert.ok(existsSync(join(buildCacheDir(s, o.component.buildKey), 'result.json')), `${o.component.name} is cached`);
      assert.equal(o.host, 'engine1', `${o.component.name} finished on engine1`);
    }
    const moved = built.find((o) => o.component.name === victim)!;
    assert.equal(moved.attempts, 2, 'the job that was on engine2 took a second attempt');
    assert.ok(built.filter((o) => o !== moved).every((o) => o.attempts === 1));
    const lines = events.map((e) => e.message);
    const line = lines.find((l) => l.startsWith(`host engine2 went away (`) && l.endsWith(`); retrying release-1.18/arm64 ${victim} on engine1`));
    assert.ok(line, `the move is announced:\n${lines.filter((l) => /host|retry/.test(l)).join('\n')}`);
    t.diagnostic(line);
    // The log of the lost attempt is kept beside the new one, which is complete.
    const logs = join(artifactsDir, 'release-1.18', 'arm64', 'logs');
    assert.ok(existsSync(join(logs, `${victim}.attempt1-engine2.log`)), readdirSync(logs).join(' '));
    assert.match(readFileSync(join(logs, `${victim}.log`), 'utf8'), /==> done in/);
    assert.deepEqual(await ours(engine1), [], 'no containers left on engine1');
  });
});
