/**
 * The farm's Docker hosts and the scheduler that spreads jobs over them.
 *
 * A host is one Docker engine (local socket, tcp with TLS, or ssh) with the arches it runs natively
 * and how many builds it takes at once; each host runs its jobs through its own p-queue with that
 * concurrency. Jobs are bound to a host late, when a slot frees: a job whose containers run as arch
 * A goes to a host native for A, and waits for one's slot while any host native for A is up; only
 * when none is (a farm of x86 engines building arm64 containers) does it run under qemu, on any host
 * with a free slot. Waiting wins: under qemu a build takes several times as long (6.64x for cri-o,
 * bench/README.md), longer than the native slot takes to free. A job that cannot be placed yet does
 * not hold back the jobs behind it that can. A job waits for its dependencies; a failed job stops
 * only its dependents.
 *
 * Hosts come and go: when a job fails, its host is asked whether it is still there (a ping); a host
 * that does not answer (engine stopped, socket gone, connection refused) is marked down, and its
 * running and waiting jobs move to the other hosts (at most `maxRetries` moves per job). A health
 * check pings busy hosts meanwhile, so a host that hangs (a dead tcp peer) is noticed too. A failure
 * on a host that still answers is the job's own (a compile error): it is not retried.
 *
 * Images exist per engine. Before a job runs on a host, the host's base and builder images are
 * ensured there; when the host lacks one that another host has under the same content-key tag, it
 * is streamed over (`docker save | docker load`) instead of being built again (an arm64 builder
 * takes half an hour under qemu; a copy takes seconds).
 */
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { HostConfig } from '../settings/settings.js';
import { CrioBuildError, ExitCode, HostNotReadyError, InvalidInputError } from '../core/errors.js';
import type { Arch } from '../recipe/schema.js';
import { baseImageTag } from './images/base-image.js';
import {
  builderFiles,
  builderImageKey,
  builderTag,
  DEFAULT_BUILDERS_DIR,
  ensureBuilderImage,
  type BuilderImage,
  type BuilderImageOptions,
  type BuilderSpec,
} from './images/builder-image.js';
import { InterruptedError, interruption } from './containers.js';
import { LABEL_KIND, transferImage, type DockerDriver } from './docker.js';
import type { OnBuilderEvent } from './events.js';
import { connectHost, HostTrustError, type HostDriver } from './host-trust.js';

export interface FarmHost {
  readonly name: string;
  readonly endpoint: string;
  /** Arches this engine runs natively (others run there under qemu). */
  readonly platforms: readonly Arch[];
  readonly concurrency: number;
  readonly driver: DockerDriver;
  /** Runs this host's jobs, `concurrency` at a time. */
  readonly queue: PQueue;
  state: 'up' | 'down';
  /** Why the host is down ("connect ENOENT /var/run/docker.sock"). */
  downReason?: string;
  /** Attempts dispatched to this host and not yet settled (or abandoned). */
  active: number;
}

export function makeHost(cfg: Pick<HostConfig, 'name' | 'platforms' | 'concurrency'> & { endpoint?: string }, driver: DockerDriver): FarmHost {
  return {
    name: cfg.name,
    endpoint: cfg.endpoint ?? driver.endpoint,
    platforms: [...cfg.platforms],
    concurrency: cfg.concurrency,
    driver,
    queue: new PQueue({ concurrency: cfg.concurrency }),
    state: 'up',
    active: 0,
  };
}

export interface HostChoice {
  host: FarmHost;
  /** False when the job's platform is foreign to the host: its containers run under qemu there. */
  native: boolean;
}

function freeSlots(h: FarmHost): number {
  return h.concurrency - Math.max(h.active, h.queue.pending + h.queue.size);
}

/**
 * Where a job whose containers run as `platform` goes now: the up host native for it with the most
 * free slots; none (the job waits) when every native host is full; the up host with the most free
 * slots (under qemu) only when no up host is native for it. Ties go to the host listed first.
 */
export function chooseHost(hosts: readonly FarmHost[], platform: Arch): HostChoice | undefined {
  const up = hosts.filter((h) => h.state === 'up');
  const natives = up.filter((h) => h.platforms.includes(platform));
  let best: FarmHost | undefined;
  for (const h of natives.length > 0 ? natives : up) {
    if (freeSlots(h) > 0 && (!best || freeSlots(h) > freeSlots(best))) best = h;
  }
  return best ? { host: best, native: natives.length > 0 } : undefined;
}

export interface AttemptContext {
  host: FarmHost;
  /** 1 for the first attempt, 2 after one move, ... */
  attempt: number;
  native: boolean;
  /** Aborted when the pool gives up on this attempt (its host went away): its result is ignored. */
  signal: AbortSignal;
  /** Set on a retry: the host the previous attempt was on, and why it was given up. */
  movedFrom?: { host: string; reason: string };
}

export interface FarmJob<T> {
  id: string;
  /** The arch its containers run as (the builder image's platform). */
  platform: Arch;
  /** Ids of jobs that must succeed first. */
  deps?: string[];
  run(ctx: AttemptContext): Promise<T>;
}

export type JobOutcome<T> =
  | { id: string; status: 'done'; value: T; host: string; attempts: number }
  | { id: string; status: 'failed'; error: Error; host?: string; attempts: number }
  | { id: string; status: 'skipped'; error: Error; attempts: 0 };

/** A job moved off hosts that went away more often than allowed. */
export class HostLostError extends CrioBuildError {
  constructor(message: string) {
    super(message, ExitCode.jobFailed, 'check the Docker hosts of the farm config (`crio-build doctor`), then run again: finished builds are cached');
  }
}

/** A job not run because a job it depends on failed. */
export class DependencyFailedError extends CrioBuildError {
  constructor(message: string) {
    super(message, ExitCode.jobFailed);
  }
}

export interface PoolOptions {
  /** How often one job may be moved off a host that went away (default 2). */
  maxRetries?: number;
  /** Ping busy hosts this often, to notice one that hangs (default 10 s; 0 turns it off). */
  healthIntervalMs?: number;
  /** A ping not answered within this is a host gone (default 10 s). */
  pingTimeoutMs?: number;
  onEvent?: OnBuilderEvent;
}

export interface ConnectPoolOptions extends PoolOptions {
  /** How to reach a host (tests pass fakes); connectHost (which checks who the host is) by default. */
  connect?: (cfg: HostConfig) => Promise<HostDriver>;
}

function shortReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = (e.message ?? String(err)).replace(/^cannot reach the Docker engine at \S+: /, '').split('\n')[0]!;
  return msg.length > 160 ? msg.slice(0, 157) + '...' : msg;
}

export class HostPool {
  private readonly opts: Required<Omit<PoolOptions, 'onEvent'>> & Pick<PoolOptions, 'onEvent'>;
  private readonly downListeners = new Set<(host: FarmHost) => void>();
  private readonly images = new Map<string, Promise<BuilderImage>>();
  private readonly specChains = new Map<string, Promise<unknown>>();
  private readonly probing = new Map<FarmHost, Promise<{ ok: true } | { ok: false; reason: string }>>();
  /** The pumps of every run() in progress: a slot freed by one run's job may go to another run's waiting job. */
  private readonly pumps = new Set<() => void>();
  /** Builds by content key made (or being made) while this pool lives: see `once`. */
  private readonly made = new Map<string, Promise<unknown>>();

  constructor(
    readonly hosts: FarmHost[],
    opts: PoolOptions = {},
  ) {
    if (hosts.length === 0) throw new InvalidInputError('a farm needs at least one Docker host');
    this.opts = { maxRetries: opts.maxRetries ?? 2, healthIntervalMs: opts.healthIntervalMs ?? 10_000, pingTimeoutMs: opts.pingTimeoutMs ?? 10_000, onEvent: opts.onEvent };
  }

  /**
   * Connect to every configured host and ask each engine its arch. A host that does not answer is
   * left out (said so); none answering is HostNotReadyError. A host whose engine runs on an arch
   * its `platforms` does not list is a config error. Empty `platforms` (the built-in default)
   * takes the engine's own arch.
   */
  static async connect(configs: HostConfig[], opts: ConnectPoolOptions = {}): Promise<HostPool> {
    const warn = (message: string) => opts.onEvent?.({ scope: 'build', phase: 'host', message });
    const connect = opts.connect ?? ((c: HostConfig) => connectHost(c, warn));
    const settled = await Promise.allSettled(
      configs.map(async (c) => {
        const driver = await connect(c);
        const arch = await driver.hostArch().catch(async (err: unknown) => {
          await driver.close?.();
          throw err;
        });
        if (c.platforms.length > 0 && !c.platforms.includes(arch)) {
          await driver.close?.();
          throw new InvalidInputError(
            `host ${c.name} (${c.endpoint}): its engine runs on ${arch}, but the config says its platforms are [${c.platforms.join(', ')}]`,
            `list ${arch} among the host's platforms (the arches it runs natively)`,
          );
        }
        return makeHost({ ...c, platforms: c.platforms.length > 0 ? c.platforms : [arch] }, driver);
      }),
    );
    const hosts: FarmHost[] = [];
    const problems: string[] = [];
    settled.forEach((s, i) => {
      const c = configs[i]!;
      if (s.status === 'fulfilled') hosts.push(s.value);
      // A host that is not who it says (or is configured wrong) stops the run: building elsewhere
      // would hide it. Close what did connect first.
      else if (s.reason instanceof InvalidInputError || s.reason instanceof HostTrustError) {
        for (const x of settled) if (x.status === 'fulfilled') void (x.value.driver as HostDriver).close?.();
        throw s.reason;
      }
      else {
        problems.push(`${c.name} (${c.endpoint}): ${shortReason(s.reason)}`);
        opts.onEvent?.({ scope: 'build', phase: 'host', message: `host ${c.name} is not reachable (${shortReason(s.reason)}); building without it` });
      }
    });
    if (hosts.length === 0) {
      throw new HostNotReadyError(`no Docker host of the farm answers:\n${problems.map((p) => `- ${p}`).join('\n')}`, 'start the engines (or fix the hosts: section of the config); `crio-build doctor` checks each of them');
    }
    return new HostPool(hosts, opts);
  }

  upHosts(): FarmHost[] {
    return this.hosts.filter((h) => h.state === 'up');
  }

  /** Close what connecting opened (ssh tunnels). The pool is not used afterwards. */
  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => (h.driver as HostDriver).close?.().catch(() => undefined)));
  }

  /** The builder image's tag on `host` if it has it already (its base and then the recipe-key tag); nothing is made. */
  private async builderTagOn(host: FarmHost, spec: BuilderSpec, opts: BuilderImageOptions): Promise<string | undefined> {
    const base = await host.driver.inspectImage(baseImageTag(spec.platform));
    if (!base || base.Config?.Labels?.[LABEL_KIND] !== 'base' || base.Architecture !== spec.platform) return undefined;
    const files = await builderFiles(join(opts.buildersDir ?? DEFAULT_BUILDERS_DIR, spec.name)).catch(() => []);
    if (files.length === 0) return undefined;
    const tag = builderTag(spec.name, await builderImageKey(spec, base.Id, files));
    return (await host.driver.inspectImage(tag)) ? tag : undefined;
  }

  /**
   * The builder image for `spec` on whichever host has it (nothing is built then), else made on a
   * host native for its platform (else the first host up): the image whose content gives the
   * builder's key, before the builds are keyed. A host that goes away meanwhile is left for the next.
   */
  async anyBuilderImage(spec: BuilderSpec, opts: BuilderImageOptions = {}): Promise<BuilderImage> {
    for (const h of this.upHosts()) {
      if (await this.builderTagOn(h, spec, opts).catch(() => undefined)) return this.builderImage(h, spec, opts);
    }
    for (;;) {
      const up = this.upHosts();
      const host = up.find((h) => h.platforms.includes(spec.platform)) ?? up[0];
      if (!host) throw new HostLostError(`no Docker host of the farm is left to make the ${spec.name} builder for linux/${spec.platform}`);
      try {
        return await this.builderImage(host, spec, opts);
      } catch (err) {
        const alive = await this.probe(host);
        if (alive.ok) throw err;
        this.markDown(host, alive.reason);
        this.images.delete(`${host.name}\0${this.specKey(spec, opts)}`);
      }
    }
  }

  /** A slot freed: this run's pump first (its dependents), then every other run's. */
  private pumpAll(first: () => void): void {
    first();
    for (const p of [...this.pumps]) if (p !== first) p();
  }

  private specKey(spec: BuilderSpec, opts: BuilderImageOptions): string {
    return JSON.stringify([spec.name, spec.platform, spec.crossTarget ?? null, spec.toolchain.sha256, opts.buildersDir ?? null]);
  }

  private say(phase: string, message: string): void {
    this.opts.onEvent?.({ scope: 'build', phase, message });
  }

  /** Does the host still answer? One probe per host at a time; a down host stays down. */
  probe(host: FarmHost): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (host.state === 'down') return Promise.resolve({ ok: false, reason: host.downReason ?? 'down' });
    let p = this.probing.get(host);
    if (!p) {
      p = (async () => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            host.driver.ping(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${this.opts.pingTimeoutMs / 1000}s`)), this.opts.pingTimeoutMs);
            }),
          ]);
          return { ok: true as const };
        } catch (err) {
          return { ok: false as const, reason: shortReason(err) };
        } finally {
          clearTimeout(timer);
        }
      })().finally(() => this.probing.delete(host));
      this.probing.set(host, p);
    }
    return p;
  }

  /** Take a host out of the farm for the rest of the run; its jobs move (run() listens). */
  markDown(host: FarmHost, reason: string): void {
    if (host.state === 'down') return;
    host.state = 'down';
    host.downReason = reason;
    this.say('host', `host ${host.name} went away (${reason})`);
    for (const l of [...this.downListeners]) l(host);
  }

  /**
   * The builder image for `spec` on `host`: seeded from another host that has it (same content-key
   * tag), else ensured there (reused, or built). One ensure per spec at a time across hosts, so a
   * second host waits for the first one's build and then copies it instead of building it too.
   */
  builderImage(host: FarmHost, spec: BuilderSpec, opts: BuilderImageOptions = {}): Promise<BuilderImage> {
    const specKey = this.specKey(spec, opts);
    const key = `${host.name}\0${specKey}`;
    let p = this.images.get(key);
    if (!p) {
      const before = this.specChains.get(specKey) ?? Promise.resolve();
      p = before.then(async () => {
        await this.seedImages(host, spec, opts);
        return ensureBuilderImage(host.driver, spec, opts);
      });
      this.specChains.set(specKey, p.catch(() => undefined));
      this.images.set(key, p);
    }
    return p;
  }

  /** Copy the base and builder images `host` lacks from a host that has them. */
  async seedImages(target: FarmHost, spec: BuilderSpec, opts: BuilderImageOptions = {}): Promise<void> {
    const sources = () => this.hosts.filter((h) => h !== target && h.state === 'up');
    if (sources().length === 0) return;
    const baseTag = baseImageTag(spec.platform);
    const isBase = (img: Awaited<ReturnType<DockerDriver['inspectImage']>>) => !!img && img.Config?.Labels?.[LABEL_KIND] === 'base' && img.Architecture === spec.platform;
    let base = await target.driver.inspectImage(baseTag);
    if (!isBase(base)) {
      await this.copyFromAny(target, baseTag, `base image for linux/${spec.platform}`, async (h) => isBase(await h.driver.inspectImage(baseTag)), sources);
      base = await target.driver.inspectImage(baseTag);
    }
    // Without a base nothing can match; ensureBuilderImage makes one (and the builder) there.
    if (!isBase(base)) return;
    const files = await builderFiles(join(opts.buildersDir ?? DEFAULT_BUILDERS_DIR, spec.name)).catch(() => []);
    if (files.length === 0) return;
    const tag = builderTag(spec.name, await builderImageKey(spec, base!.Id, files));
    if (await target.driver.inspectImage(tag)) return;
    const what = `builder ${spec.name} for ${spec.crossTarget ? `${spec.platform} -> ${spec.crossTarget}` : `linux/${spec.platform}`}`;
    await this.copyFromAny(target, tag, what, async (h) => !!(await h.driver.inspectImage(tag)), sources);
  }

  /**
   * Stream `ref` to `target` from the first source that has it. A source that goes away mid-copy
   * is marked down and the next one is tried; a target that goes away fails the caller (its job
   * then moves). Any other copy failure is reported and left to the ensure step (which builds).
   */
  private async copyFromAny(target: FarmHost, ref: string, what: string, has: (h: FarmHost) => Promise<boolean>, sources: () => FarmHost[]): Promise<void> {
    for (const src of sources()) {
      if (!(await has(src).catch(() => false))) continue;
      const started = Date.now();
      this.say('seed', `seeding ${what} on host ${target.name} from host ${src.name} (${ref.slice(0, 60)}; docker save | docker load)`);
      try {
        await transferImage(src.driver, target.driver, ref);
        this.say('seed', `seeded ${what} on host ${target.name} from host ${src.name} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        return;
      } catch (err) {
        const [s, t] = await Promise.all([this.probe(src), this.probe(target)]);
        if (!t.ok) throw err;
        if (!s.ok) {
          this.markDown(src, s.reason);
          continue;
        }
        this.say('seed', `could not copy ${what} to host ${target.name}: ${shortReason(err)}; making it there instead`);
        return;
      }
    }
  }

  /**
   * The one build of `key` for everyone sharing this pool (the runs of a nightly's branches and
   * arches). The first caller gets `first: true` and the promise `make()` returned, which it must
   * settle; a caller asking while that build is in flight, or after it is done, gets `first: false`
   * and the same promise, to wait for that build instead of making it again. A failed build stays
   * failed for the pool's life: the same key would fail the same way.
   */
  once<T>(key: string, make: () => Promise<T>): { first: boolean; result: Promise<T> } {
    const had = this.made.get(key) as Promise<T> | undefined;
    if (had) return { first: false, result: had };
    const result = make();
    result.catch(() => undefined); // handled by whoever awaits it; never an unhandled rejection here
    this.made.set(key, result);
    return { first: true, result };
  }

  /**
   * Run a job graph over the hosts. Resolves with one outcome per job, in the order given, when
   * every job has succeeded, failed or been skipped (a dependency failed); it never rejects for a
   * job's failure. Several run()s may go on at once on one pool (a nightly's branches and
   * arches): they share the hosts' slots, and a slot freed by any of them is offered to all.
   */
  run<T>(jobs: FarmJob<T>[]): Promise<JobOutcome<T>[]> {
    interface Attempt {
      host: FarmHost;
      ac: AbortController;
      abandoned: boolean;
    }
    interface State {
      job: FarmJob<T>;
      status: 'blocked' | 'waiting' | 'running' | 'done' | 'failed' | 'skipped';
      attempts: number;
      moves: number;
      current?: Attempt;
      movedFrom?: { host: string; reason: string };
      outcome?: JobOutcome<T>;
    }
    const states = new Map<string, State>();
    for (const job of jobs) {
      if (states.has(job.id)) throw new InvalidInputError(`job ${job.id} is listed twice`);
      states.set(job.id, { job, status: 'blocked', attempts: 0, moves: 0 });
    }
    for (const job of jobs) {
      for (const d of job.deps ?? []) if (!states.has(d)) throw new InvalidInputError(`job ${job.id} depends on ${d}, which is not in the graph`);
    }
    const order = [...states.values()];
    const waiting: State[] = [];

    return new Promise((resolveAll) => {
      let finished = false;
      let health: NodeJS.Timeout | undefined;
      const terminal = (s: State) => s.status === 'done' || s.status === 'failed' || s.status === 'skipped';

      const finish = () => {
        if (finished || !order.every(terminal)) return;
        finished = true;
        if (health) clearInterval(health);
        this.downListeners.delete(onDown);
        this.pumps.delete(pump);
        resolveAll(order.map((s) => s.outcome!));
      };

      const fail = (s: State, error: Error, host?: string) => {
        s.status = 'failed';
        s.current = undefined;
        s.outcome = { id: s.job.id, status: 'failed', error, host, attempts: s.attempts };
      };

      // Blocked jobs whose deps all succeeded become waiting; those with a failed dep are skipped.
      const unblock = () => {
        let changed = true;
        while (changed) {
          changed = false;
          for (const s of order) {
            if (s.status !== 'blocked') continue;
            const deps = (s.job.deps ?? []).map((d) => states.get(d)!);
            const bad = deps.find((d) => d.status === 'failed' || d.status === 'skipped');
            if (bad) {
              s.status = 'skipped';
              s.outcome = { id: s.job.id, status: 'skipped', error: new DependencyFailedError(`${s.job.id} not built: ${bad.job.id} ${bad.status === 'failed' ? 'failed' : 'was not built'}`), attempts: 0 };
              changed = true;
            } else if (deps.every((d) => d.status === 'done')) {
              s.status = 'waiting';
              waiting.push(s);
              changed = true;
            }
          }
        }
      };

      const pump = () => {
        while (waiting.length > 0) {
          if (this.upHosts().length === 0) {
            const why = this.hosts.map((h) => `${h.name}: ${h.downReason ?? 'down'}`).join('; ');
            for (const s of waiting.splice(0)) fail(s, new HostLostError(`${s.job.id}: no Docker host of the farm is left (${why})`), s.movedFrom?.host);
            unblock();
            continue;
          }
          // In the order they became ready; one that waits for a native slot lets the next go.
          const i = waiting.findIndex((w) => chooseHost(this.hosts, w.job.platform));
          if (i < 0) break;
          const [s] = waiting.splice(i, 1);
          dispatch(s!, chooseHost(this.hosts, s!.job.platform)!);
        }
        finish();
      };

      const dispatch = (s: State, { host, native }: HostChoice) => {
        s.status = 'running';
        s.attempts++;
        host.active++;
        const attempt: Attempt = { host, ac: new AbortController(), abandoned: false };
        s.current = attempt;
        if (s.movedFrom) this.say('retry', `host ${s.movedFrom.host} went away (${s.movedFrom.reason}); retrying ${s.job.id} on ${host.name}`);
        else this.say('dispatch', `${s.job.id}: on host ${host.name}${native ? '' : ` (linux/${s.job.platform} under qemu)`}`);
        const ctx: AttemptContext = { host, attempt: s.attempts, native, signal: attempt.ac.signal, movedFrom: s.movedFrom };
        host.queue.add(() => s.job.run(ctx)).then(
          (value) => {
            if (attempt.abandoned) return;
            host.active--;
            s.status = 'done';
            s.current = undefined;
            s.outcome = { id: s.job.id, status: 'done', value: value as T, host: host.name, attempts: s.attempts };
            unblock();
            this.pumpAll(pump);
          },
          (err: unknown) => void failed(s, attempt, err instanceof Error ? err : new Error(String(err))),
        );
      };

      const failed = async (s: State, attempt: Attempt, err: Error) => {
        if (attempt.abandoned) return;
        // An interrupted run is not a host problem; anything else: is the host still there?
        const alive = err instanceof InterruptedError || interruption() ? { ok: true as const } : await this.probe(attempt.host);
        if (attempt.abandoned) return; // moved meanwhile (the health check saw the host go)
        if (!alive.ok) {
          this.markDown(attempt.host, alive.reason); // moves this job too (onDown)
          return;
        }
        attempt.host.active--;
        fail(s, err, attempt.host.name);
        unblock();
        this.pumpAll(pump);
      };

      // A host went away: give up its attempts and queue their jobs again, first in line.
      const onDown = (host: FarmHost) => {
        const moved: State[] = [];
        for (const s of order) {
          const a = s.current;
          if (s.status !== 'running' || !a || a.host !== host) continue;
          a.abandoned = true;
          a.ac.abort();
          host.active--;
          s.current = undefined;
          s.moves++;
          if (s.moves > this.opts.maxRetries) {
            fail(s, new HostLostError(`${s.job.id}: host ${host.name} went away (${host.downReason}) and the job was already moved ${s.moves - 1} time(s); giving up`), host.name);
            continue;
          }
          s.status = 'waiting';
          s.movedFrom = { host: host.name, reason: host.downReason ?? 'down' };
          moved.push(s);
        }
        waiting.unshift(...moved);
        unblock();
        pump();
      };
      this.downListeners.add(onDown);
      this.pumps.add(pump);

      if (this.opts.healthIntervalMs > 0) {
        health = setInterval(() => {
          for (const h of this.hosts) {
            if (h.state !== 'up' || h.active === 0) continue;
            void this.probe(h).then((r) => {
              if (!r.ok) this.markDown(h, r.reason);
            });
          }
        }, this.opts.healthIntervalMs);
      }

      unblock();
      pump();
    });
  }
}
