/**
 * The Docker driver: everything the builder asks of a container engine goes through this small
 * interface, so a remote daemon (DOCKER_HOST=tcp:// or ssh://) or a pool of daemons can sit behind
 * it later, the way buildx drivers do. The local implementation is dockerode.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { HostNotReadyError, InvalidInputError } from '../core/errors.js';
import type { Arch } from '../recipe/schema.js';

/** Every object we create carries these labels, so cleanup (and the tests) can find it by label. */
export const LABEL_MANAGED = 'io.crio-build.managed';
export const LABEL_RUN = 'io.crio-build.run';
export const LABEL_KIND = 'io.crio-build.kind';
export const LABEL_KEY = 'io.crio-build.key';

export type ObjectKind = 'base' | 'builder' | 'build' | 'verify';

/** One id per process run: it lets `cleanup` remove only what this run started. */
export const defaultRunId = `${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;

export function labelsFor(kind: ObjectKind, runId: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId, [LABEL_KIND]: kind, ...extra };
}

/** A progress line from an image build or pull (the daemon's JSON message stream, flattened). */
export type BuildProgress = (line: string) => void;

export interface ImageSummary {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  size: number;
  created: number;
}

export interface DockerDriver {
  readonly name: string;
  /** The engine endpoint, for messages ("unix:///var/run/docker.sock"). */
  readonly endpoint: string;
  /** The dockerode client, for the container operations (create, exec, archive) the builder does. */
  readonly client: Docker;
  ping(): Promise<void>;
  /** The engine's native architecture in Debian/Go terms. */
  hostArch(): Promise<Arch>;
  /** Build an image from a tar context stream; resolves to the image id, rejects with the build's own error and tail. */
  buildImage(context: Readable, opts: Docker.ImageBuildOptions, onProgress?: BuildProgress): Promise<string>;
  /** Pull with a deadline: registries are often unreachable here, and we want to fall back fast. */
  pull(ref: string, platform: string, timeoutMs: number, onProgress?: BuildProgress): Promise<void>;
  inspectImage(ref: string): Promise<Docker.ImageInspectInfo | undefined>;
  listImages(labels: Record<string, string>): Promise<ImageSummary[]>;
  removeImage(ref: string): Promise<void>;
  pruneDangling(): Promise<void>;
  tagImage(id: string, repo: string, tag: string): Promise<void>;
}

export interface ConnectOptions {
  /** `unix:///path`, `tcp://host:port` or `ssh://user@host[:port]`; defaults to DOCKER_HOST, then the local socket. */
  host?: string;
  /** Client certificate files for a `tcp://` endpoint behind TLS (the engine's --tlsverify). */
  tls?: TlsFiles;
}

/** PEM files, as `docker --tlscacert/--tlscert/--tlskey` take them. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** Map Docker's `uname -m`-style architecture names to ours. */
export function dockerArchToArch(a: string): Arch | undefined {
  if (a === 'x86_64' || a === 'amd64') return 'amd64';
  if (a === 'aarch64' || a === 'arm64') return 'arm64';
  return undefined;
}

/**
 * dockerode options for one endpoint. Every connection key is set (unset ones to undefined), so
 * nothing leaks in from DOCKER_HOST, which docker-modem reads as defaults underneath ours.
 */
export function dockerOptionsFor(endpoint: string, tls?: TlsFiles): Docker.DockerOptions {
  const clear: Docker.DockerOptions = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, username: undefined, ca: undefined, cert: undefined, key: undefined };
  if (endpoint.startsWith('unix://')) {
    if (tls) throw new InvalidInputError(`${endpoint}: tls applies to tcp:// endpoints only`);
    return { ...clear, socketPath: endpoint.slice('unix://'.length) };
  }
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new InvalidInputError(`Docker endpoint ${JSON.stringify(endpoint)} is not a URL`, 'expected unix:///path, tcp://host:port or ssh://user@host[:port]');
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (u.protocol === 'tcp:' || u.protocol === 'http:' || u.protocol === 'https:') {
    const secure = tls !== undefined || u.protocol === 'https:';
    const opts: Docker.DockerOptions = { ...clear, host, port: u.port || (secure ? 2376 : 2375), protocol: secure ? 'https' : 'http' };
    if (tls) {
      const read = (what: string, file: string) => {
        try {
          return readFileSync(file);
        } catch (err) {
          throw new InvalidInputError(`${endpoint}: cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
        }
      };
      opts.ca = read('CA certificate', tls.ca);
      opts.cert = read('client certificate', tls.cert);
      opts.key = read('client key', tls.key);
    }
    return opts;
  }
  if (u.protocol === 'ssh:') {
    if (tls) throw new InvalidInputError(`${endpoint}: tls applies to tcp:// endpoints only (ssh has its own)`);
    // ssh runs `docker system dial-stdio` on the far side, as the docker CLI does: the remote user
    // needs the docker CLI and access to its engine. Keys come from the agent, else ~/.ssh.
    const sshOptions: Record<string, unknown> = {};
    if (process.env.SSH_AUTH_SOCK) sshOptions.agent = process.env.SSH_AUTH_SOCK;
    else {
      const key = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f)).find((f) => existsSync(f));
      if (key) sshOptions.privateKey = readFileSync(key);
    }
    return { ...clear, host, port: u.port || 22, protocol: 'ssh', username: decodeURIComponent(u.username) || undefined, sshOptions } as Docker.DockerOptions;
  }
  throw new InvalidInputError(`Docker endpoint ${JSON.stringify(endpoint)}: unsupported scheme ${u.protocol}`, 'expected unix:///path, tcp://host:port or ssh://user@host[:port]');
}

function clientFor(host: string | undefined, tls?: TlsFiles): { client: Docker; probe: Docker; endpoint: string } {
  const h = host ?? process.env.DOCKER_HOST;
  const endpoint = h ?? 'unix:///var/run/docker.sock';
  // DOCKER_HOST comes with the docker CLI's TLS variables.
  const certs = process.env.DOCKER_CERT_PATH;
  if (!host && !tls && certs && process.env.DOCKER_TLS_VERIFY === '1' && /^tcp:/.test(endpoint)) {
    tls = { ca: join(certs, 'ca.pem'), cert: join(certs, 'cert.pem'), key: join(certs, 'key.pem') };
  }
  const opts = dockerOptionsFor(h && !h.includes('://') ? `tcp://${h}` : endpoint, tls);
  // Pings go over a fresh connection each time: an engine that is shutting down has closed its
  // listener but still answers on kept-alive connections, so a pooled ping would say "up".
  // (ssh dials a new connection per request anyway.)
  const fresh = opts.protocol === 'ssh' ? undefined : opts.protocol === 'https' ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
  return { client: new Docker(opts), probe: new Docker({ ...opts, ...(fresh ? { agent: fresh } : {}) }), endpoint };
}

/** Collect a daemon JSON message stream; the builder's `error` messages become one rejection with the tail. */
/**
 * Step images of image builds in progress, so a failed or interrupted build can remove exactly the
 * images it made (the classic builder keeps them, untagged). A blanket prune of dangling images
 * would race with other builds on the same engine, whose newest step image is dangling too.
 */
const buildsInProgress = new Map<symbol, { client: Docker; created: string[]; stream: NodeJS.ReadableStream }>();

async function removeStepImages(client: Docker, created: string[]): Promise<void> {
  // Newest first: removing an untagged image also removes its untagged parents without other children.
  for (const id of [...created].reverse()) {
    await client.getImage(id).remove({ noprune: false }).catch(() => undefined);
  }
}

/** Remove the step images of every image build this process has in progress (for the signal handler). */
export async function removeInterruptedBuildImages(): Promise<void> {
  const all = [...buildsInProgress.values()];
  buildsInProgress.clear();
  if (all.length === 0) return;
  // Closing the connection makes the engine cancel the build; give it a moment to stop its step.
  for (const b of all) (b.stream as unknown as { destroy?: () => void }).destroy?.();
  await new Promise((r) => setTimeout(r, 1500));
  await Promise.allSettled(all.map((b) => removeStepImages(b.client, b.created)));
}

function follow(client: Docker, stream: NodeJS.ReadableStream, onProgress?: BuildProgress, created: string[] = []): Promise<{ id?: string; tail: string[] }> {
  const tail: string[] = [];
  // " ---> <id>" after a step that ran (not after "Using cache") names an image this build made.
  let cached = false;
  let id: string | undefined;
  // The daemon reports a failed build step as a message in the stream, not as a stream error.
  let failure: string | undefined;
  return new Promise((resolve, reject) => {
    client.modem.followProgress(
      stream,
      (err: Error | null) => {
        const why = err?.message ?? failure;
        if (why) reject(new Error(`${why}\n${tail.slice(-40).join('\n')}`));
        else resolve({ id, tail });
      },
      (ev: { stream?: string; status?: string; progress?: string; id?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string } }) => {
        if (ev.aux?.ID) id = ev.aux.ID;
        if (ev.error) failure = ev.errorDetail?.message ?? ev.error;
        const text = ev.error ?? ev.stream ?? (ev.status ? `${ev.id ? ev.id + ': ' : ''}${ev.status}${ev.progress ? ' ' + ev.progress : ''}` : '');
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          if (/^ ---> Using cache$/.test(line)) cached = true;
          const step = /^ ---> ([0-9a-f]{12})$/.exec(line);
          if (step) {
            if (!cached) created.push(step[1]!);
            cached = false;
          }
          tail.push(line);
          if (tail.length > 200) tail.shift();
          onProgress?.(line);
        }
        const m = /^Successfully built ([0-9a-f]{12,64})/.exec(ev.stream ?? '');
        if (m && !id) id = m[1];
      },
    );
  });
}

class LocalDockerDriver implements DockerDriver {
  readonly name = 'docker';
  constructor(
    readonly client: Docker,
    readonly endpoint: string,
    private readonly probeClient: Docker = client,
  ) {}

  async ping(): Promise<void> {
    try {
      await this.probeClient.ping();
    } catch (err) {
      throw new HostNotReadyError(
        `cannot reach the Docker engine at ${this.endpoint}: ${(err as Error).message}`,
        'install and start one: `apt-get install docker.io && dockerd &` (or set DOCKER_HOST to a reachable engine)',
      );
    }
  }

  async hostArch(): Promise<Arch> {
    const v = await this.client.version();
    const a = dockerArchToArch(v.Arch);
    if (!a) throw new HostNotReadyError(`the Docker engine runs on ${v.Arch}, which crio-build does not support`, 'use an amd64 or arm64 engine');
    return a;
  }

  async buildImage(context: Readable, opts: Docker.ImageBuildOptions, onProgress?: BuildProgress): Promise<string> {
    const stream = await this.client.buildImage(context, { rm: true, forcerm: true, ...opts });
    const token = Symbol(opts.t ?? 'build');
    const created: string[] = [];
    buildsInProgress.set(token, { client: this.client, created, stream });
    const { id, tail } = await follow(this.client, stream, onProgress, created)
      .catch(async (err: Error) => {
        // The classic builder keeps the images of the steps that succeeded; untagged, they would leak.
        await removeStepImages(this.client, created);
        throw err;
      })
      .finally(() => buildsInProgress.delete(token));
    // The classic builder reports "Successfully built <short id>"; resolve it to the full id.
    const ref = opts.t ?? id;
    if (!ref) throw new Error(`image build finished without an image id:\n${tail.slice(-40).join('\n')}`);
    const info = await this.inspectImage(ref);
    if (!info) throw new Error(`image build finished but ${ref} is not there:\n${tail.slice(-40).join('\n')}`);
    return info.Id;
  }

  async pull(ref: string, platform: string, timeoutMs: number, onProgress?: BuildProgress): Promise<void> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const stream = await this.client.pull(ref, { platform, abortSignal: abort.signal });
      await follow(this.client, stream, onProgress);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Remove untagged images that carry our labels (inherited from our base images by build steps)
   * and are over an hour old, so the newest step image of a build in progress is never taken.
   */
  async pruneDangling(): Promise<void> {
    await this.client.pruneImages({ filters: JSON.stringify({ dangling: ['true'], label: [`${LABEL_MANAGED}=true`], until: ['1h'] }) });
  }

  async inspectImage(ref: string): Promise<Docker.ImageInspectInfo | undefined> {
    try {
      return await this.client.getImage(ref).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async listImages(labels: Record<string, string>): Promise<ImageSummary[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const list = await this.client.listImages({ filters: JSON.stringify({ label }) });
    return list.map((i) => ({
      id: i.Id,
      tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      labels: i.Labels ?? {},
      size: i.Size,
      created: i.Created,
    }));
  }

  async removeImage(ref: string): Promise<void> {
    await this.client.getImage(ref).remove({ force: true });
  }

  async tagImage(id: string, repo: string, tag: string): Promise<void> {
    await this.client.getImage(id).tag({ repo, tag });
  }
}

/** Connect to the engine (DOCKER_HOST or the local socket) and check it answers. */
export async function connectDocker(opts: ConnectOptions = {}): Promise<DockerDriver> {
  const { client, probe, endpoint } = clientFor(opts.host, opts.tls);
  const driver = new LocalDockerDriver(client, endpoint, probe);
  await driver.ping();
  return driver;
}

/**
 * Copy an image from one engine to another (`docker save | docker load`, streamed; nothing on
 * disk): how a farm host gets a builder image another host already has, instead of building it
 * again. Image ids and tags survive the trip, so content-key tags mean the same on both engines.
 * Rejects if either side fails or goes away mid-way (the load is aborted).
 */
export async function transferImage(from: DockerDriver, to: DockerDriver, ref: string, onProgress?: BuildProgress): Promise<void> {
  const abort = new AbortController();
  const tarball = (await from.client.getImage(ref).get()) as NodeJS.ReadableStream;
  let sourceError: Error | undefined;
  tarball.on('error', (err: Error) => {
    sourceError = err;
    abort.abort();
  });
  // A source that ends early is caught by the engine ("unexpected EOF"); one that dies says so here.
  tarball.on('aborted', () => {
    sourceError = new Error(`the image stream from ${from.endpoint} was cut off`);
    abort.abort();
  });
  try {
    const res = await to.client.loadImage(tarball, { quiet: true, abortSignal: abort.signal } as object);
    await follow(to.client, res, onProgress);
  } catch (err) {
    throw new Error(`copying ${ref} from ${from.endpoint} to ${to.endpoint} failed: ${(sourceError ?? (err as Error)).message.split('\n')[0]}`);
  }
  if (sourceError) throw new Error(`copying ${ref} from ${from.endpoint} to ${to.endpoint} failed: ${sourceError.message}`);
  const [a, b] = await Promise.all([from.inspectImage(ref), to.inspectImage(ref)]);
  if (!b) throw new Error(`copying ${ref} from ${from.endpoint} to ${to.endpoint}: the image is not there after the load`);
  if (a && a.Id !== b.Id) throw new Error(`copying ${ref} from ${from.endpoint} to ${to.endpoint}: it arrived as ${b.Id}, expected ${a.Id}`);
}
