/**
 * One build job in one container: create it from the builder image with networking off, put the
 * source tree in, run the recipe's steps (argv, never a shell) as the unprivileged `builder`, run
 * the `generate` entries, copy the outputs out through the safe extractor, verify them, and always
 * remove the container.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import type Docker from 'dockerode';
import { CrioBuildError, ExitCode, HostNotReadyError, InvalidInputError } from '../core/errors.js';
import type { Arch } from '../recipe/schema.js';
import { builderSpecFor, ensureBuilderImage, type BuilderImage, type BuilderImageOptions } from '../hosts/images/builder-image.js';
import { buildEnv, envList, sourceDir, substitute, BUILD_ROOT } from './build-env.js';
import { interruption, InterruptedError, removeContainer, startContainer } from '../hosts/containers.js';
import { defaultRunId, labelsFor, type DockerDriver } from '../hosts/docker.js';
import type { OnBuilderEvent } from '../hosts/events.js';
import { execArgv } from '../hosts/exec.js';
import { extractSafely, safeRelative, UnsafeArchiveError } from './extract.js';
import { GO_CACHE_DIR, goCacheMount, goCacheVolume, MAINTAIN_SCRIPT, parseMaintainReport, type GoCacheVolume } from './go-cache.js';
import { DEFAULT_GO_CACHE, type GoCacheSettings } from '../settings/settings.js';
import type { GoCacheReport } from '../plan/build-job.js';
import { JobLog } from './log.js';
import { checkBinfmt } from '../hosts/qemu.js';
import { singleFileTar, sourceTar } from './source-tar.js';
import type { BuildJob, BuildResult } from '../plan/build-job.js';
import { verifyOutputs } from './verify-outputs.js';
import { parseShlibdepsOutput, shlibdepsCommand } from './shlibs.js';

export class BuildFailedError extends CrioBuildError {
  constructor(
    message: string,
    readonly logFile: string,
    readonly tail: string[],
  ) {
    super(`${message}\n--- last ${tail.length} lines of ${logFile} ---\n${tail.join('\n')}`, ExitCode.jobFailed, `full log: ${logFile}`);
  }
}

export interface RunBuildOptions {
  driver: DockerDriver;
  /** Labels the containers, so cleanup can find this run's leftovers. */
  runId?: string;
  /** The engine's arch; asked from the engine when absent. */
  hostArch?: Arch;
  /** An already ensured builder image; ensured (and built if needed) here when absent. */
  builderImage?: BuilderImage;
  builderOptions?: Omit<BuilderImageOptions, 'runId' | 'onEvent'>;
  onEvent?: OnBuilderEvent;
  /** Every line of the build's output, as it comes (for a live display). */
  onLine?: (line: string) => void;
  /** Keep Go's build cache in a volume between builds (./go-cache.ts); on, 4 GiB, when absent. */
  goCache?: GoCacheSettings;
}

export async function runBuild(job: BuildJob, opts: RunBuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const runId = opts.runId ?? defaultRunId;
  const say = (phase: string, message: string) => opts.onEvent?.({ scope: 'build', phase, message: `${job.component}/${job.arch}: ${message}` });
  const hostArch = opts.hostArch ?? (await opts.driver.hostArch());
  // Emulated containers, cross `generate` runs and the version checks all need qemu for a foreign target.
  await checkBinfmt(job.arch, hostArch);

  const spec = builderSpecFor(job, hostArch);
  const image = opts.builderImage ?? (await ensureBuilderImage(opts.driver, spec, { ...opts.builderOptions, runId, onEvent: opts.onEvent }));
  if (image.platform !== spec.platform || (image.crossTarget ?? null) !== (spec.crossTarget ?? null)) {
    throw new InvalidInputError(`builder image ${image.tag} is for ${image.platform}${image.crossTarget ? ' -> ' + image.crossTarget : ''}, the job needs ${spec.platform}${spec.crossTarget ? ' -> ' + spec.crossTarget : ''}`);
  }

  // The contract says empty: extraction refuses to replace files, so say so before building.
  await mkdir(job.outDir, { recursive: true });
  if ((await readdir(job.outDir)).length > 0) {
    throw new InvalidInputError(`output directory ${job.outDir} is not empty`, 'give each build a fresh output directory');
  }
  const log = await JobLog.open(job.logFile, opts.onLine);
  const cross = spec.crossTarget !== undefined;
  const srcDir = sourceDir(job);
  const env = buildEnv(job, cross);
  log.note(`${job.component} ${job.version} (${job.source.commit}) for linux/${job.arch}, strategy ${job.strategy}${spec.platform === job.arch ? '' : `, cross from ${spec.platform}`}`);
  log.note(`source ${job.source.url}; builder ${image.tag}; network none; user builder`);
  const goCache = opts.goCache ?? DEFAULT_GO_CACHE;
  // Go builds whose GOCACHE is ours (a recipe may point it elsewhere, e.g. the benchmark's cold runs).
  const volume: GoCacheVolume | undefined =
    goCache.enabled && job.build.language === 'go' && env.GOCACHE === GO_CACHE_DIR
      ? goCacheVolume({ builderKey: image.key, toolchainSha256: job.toolchain.sha256, arch: job.arch, strategy: job.strategy, component: job.component })
      : undefined;
  if (volume) log.note(`Go build cache: volume ${volume.name}`);
  else if (job.build.language === 'go') log.note(`Go build cache: ${goCache.enabled ? `GOCACHE is ${env.GOCACHE}, not ${GO_CACHE_DIR}` : 'off (--no-build-cache)'}: the image's only`);
  let goCacheReport: GoCacheReport | undefined;

  let container: Docker.Container | undefined;
  let phase = 'create';
  try {
    say('create', `container from ${image.tag.slice(0, 48)}…`);
    container = await startContainer(opts.driver, {
      Image: image.tag,
      platform: `linux/${spec.platform}`,
      name: `crio-build-${job.component}-${job.arch}-${runId}-${Math.random().toString(16).slice(2, 8)}`,
      Cmd: ['/bin/sleep', 'infinity'],
      User: 'builder',
      WorkingDir: BUILD_ROOT,
      Env: envList(env),
      Labels: labelsFor('build', runId, { 'io.crio-build.component': job.component, 'io.crio-build.arch': job.arch }),
      HostConfig: { NetworkMode: 'none', Init: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], ...(volume ? { Mounts: [goCacheMount(volume)] } : {}) },
    });

    if (volume) {
      phase = 'go build cache';
      const out: Buffer[] = [];
      const code = await execArgv(container, ['/bin/sh', '-c', MAINTAIN_SCRIPT, 'sh', GO_CACHE_DIR, String(goCache.maxMiB * 1024)], { user: 'builder', onStdout: (c) => out.push(c), onStderr: (c) => log.write(c) });
      if (code !== 0) throw new StepError(`checking the Go build cache in ${volume.name} exited ${code}${await whyStopped(container, code)}`);
      goCacheReport = parseMaintainReport(volume.name, Buffer.concat(out).toString('utf8'));
      const r = goCacheReport;
      log.note(`Go build cache: ${r.entries} entries, ${(r.bytes / 1048576).toFixed(0)} MiB${r.corrupt ? `; removed ${r.corrupt} output(s) whose content did not match their hash` : ''}${r.trimmed ? `; removed ${r.trimmed} least recently used file(s) to stay under ${goCache.maxMiB} MiB` : ''}`);
      if (r.corrupt) say('cache', `${r.corrupt} corrupt Go build cache output(s) in ${volume.name} removed (they will be recompiled)`);
    }

    phase = 'source';
    say('source', `putting ${job.source.commit.slice(0, 12)} at ${srcDir}`);
    const prefix = posix.relative(BUILD_ROOT, srcDir);
    await container.putArchive(sourceTar(job.source.repoPath, job.source.commit, prefix) as unknown as NodeJS.ReadableStream, { path: BUILD_ROOT });

    const exec = async (argv: string[], capture?: Buffer[]) => {
      log.note(`$ ${argv.map(quote).join(' ')}`);
      const code = await execArgv(container!, argv, {
        workdir: srcDir,
        user: 'builder',
        onStdout: (c) => (capture ? capture.push(c) : log.write(c)),
        onStderr: (c) => log.write(c),
      });
      return code;
    };

    const firstMade = new Map<string, { step: number; sha256: string }>();
    for (const [i, step] of job.build.steps.entries()) {
      phase = `step ${i + 1}/${job.build.steps.length}`;
      const argv = step.map((a) => substitute(a, job, cross));
      say('step', `${phase}: ${argv.join(' ').slice(0, 120)}`);
      const code = await exec(argv);
      if (code !== 0) throw new StepError(`${phase} (${argv.join(' ').slice(0, 200)}) exited ${code}${await whyStopped(container!, code)}`);
      if (job.build.steps.length > 1) await checkNotRebuilt(container, srcDir, job, i, argv, firstMade);
    }

    for (const gen of job.build.generate) {
      phase = `generate ${gen.path}`;
      const rel = safeRelative(gen.path);
      if (!rel) throw new InvalidInputError(`generate path ${JSON.stringify(gen.path)} must be relative, without ..`);
      const argv = gen.run.map((a) => substitute(a, job, cross));
      say('generate', `${gen.path} <- ${argv.join(' ')}${cross ? ' (under qemu)' : ''}`);
      const out: Buffer[] = [];
      const code = await exec(argv, out);
      if (code !== 0) throw new StepError(`${phase} (${argv.join(' ')}) exited ${code}${await whyStopped(container!, code)}`);
      const content = Buffer.concat(out);
      log.note(`wrote ${gen.path} (${content.length} bytes of stdout)`);
      await container.putArchive(singleFileTar(rel, content) as unknown as NodeJS.ReadableStream, { path: srcDir });
    }

    phase = 'outputs';
    for (const out of job.build.outputs) {
      const rel = safeRelative(out.path);
      if (!rel) throw new InvalidInputError(`output path ${JSON.stringify(out.path)} must be relative, without ..`);
      let archive: NodeJS.ReadableStream;
      try {
        archive = await container.getArchive({ path: posix.join(srcDir, rel) });
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
        if (out.optional) {
          log.note(`optional output ${out.path} not produced on this branch: skipped`);
          continue;
        }
        throw new StepError(`output ${out.path} was not produced by the build`);
      }
      const files = await extractSafely(archive, { root: job.outDir, want: rel });
      log.note(`copied out ${out.path} (${files.filter((f) => f.type === 'file').length} files)`);
    }

    phase = 'verify';
    say('verify', `checking ELF machine and versions${job.arch !== hostArch ? ' under qemu' : ''}`);
    const outputs = await verifyOutputs(opts.driver, {
      image: image.tag,
      platform: spec.platform,
      arch: job.arch,
      hostArch,
      outDir: job.outDir,
      outputs: job.build.outputs,
      runId,
      onLine: (l) => log.write(`${l}\n`),
    });
    phase = 'shlibs';
    const shlibsDepends = await shlibsOf(job, outputs, srcDir, cross, container, (argv, capture) => {
      log.note(`$ ${argv.map(quote).join(' ')}`);
      return execArgv(container!, argv, { workdir: SHLIBS_DIR, user: 'builder', env: envList({ ...env, ...shlibsEnv(cross ? job.arch : undefined) }), onStdout: (c) => capture.push(c), onStderr: (c) => log.write(c) });
    });
    log.note(`shlibs:Depends=${shlibsDepends}`);
    const seconds = (Date.now() - started) / 1000;
    log.note(`done in ${seconds.toFixed(1)}s: ${outputs.length} files`);
    say('done', `${outputs.length} files in ${seconds.toFixed(1)}s`);
    return { component: job.component, arch: job.arch, strategy: job.strategy, outputs, shlibsDepends, builderImage: image.tag, logFile: job.logFile, seconds, ...(goCacheReport ? { goCache: goCacheReport } : {}) };
  } catch (err) {
    const e = err as Error;
    log.note(`FAILED in ${phase}: ${e.message.split('\n')[0]}`);
    const signal = interruption();
    if (signal) throw new InterruptedError(`building ${job.component} for ${job.arch} was interrupted by ${signal} (in ${phase}); its container is removed. Log: ${job.logFile}`);
    if (err instanceof HostNotReadyError || err instanceof InvalidInputError) throw err;
    const what = err instanceof StepError || err instanceof UnsafeArchiveError || err instanceof CrioBuildError ? e.message : `${phase}: ${e.message}`;
    throw new BuildFailedError(`building ${job.component} for ${job.arch} (${job.strategy}) failed: ${what}`, job.logFile, log.lastLines(40));
  } finally {
    if (container) await removeContainer(container).catch(() => undefined);
    await log.close();
  }
}

class StepError extends Error {}

/**
 * A later step must not remake a binary an earlier step made: on cri-o 1.13 to 1.16 bin/crio is
 * .PHONY, so a second `make docs` (or crio.conf, install) relinks it with that call's variables (the
 * default build tags and strip flags) and the package would ship a binary nobody asked for. After
 * each step, the binary outputs present are hashed; one that changes after the step that made it
 * fails the build, naming both steps.
 */
async function checkNotRebuilt(container: Docker.Container, srcDir: string, job: BuildJob, step: number, argv: string[], firstMade: Map<string, { step: number; sha256: string }>): Promise<void> {
  const paths = job.build.outputs.filter((o) => o.type === 'binary').map((o) => o.path);
  if (paths.length === 0) return;
  const out: Buffer[] = [];
  // find reports missing paths on stderr and goes on with the others: not every output exists yet.
  await execArgv(container, ['find', '--', ...paths, '-type', 'f', '-exec', 'sha256sum', '--', '{}', '+'], { workdir: srcDir, user: 'builder', onStdout: (c) => out.push(c), onStderr: () => undefined });
  for (const line of Buffer.concat(out).toString('utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) continue;
    const [, sha256, path] = m as unknown as [string, string, string];
    const first = firstMade.get(path);
    if (!first) firstMade.set(path, { step, sha256 });
    else if (first.sha256 !== sha256) {
      throw new StepError(
        `step ${step + 1}/${job.build.steps.length} (${argv.join(' ').slice(0, 120)}) rebuilt ${path}, which step ${first.step + 1} made: ` +
          'a later make target relinked it with other variables; build every target in one make call with the same variables',
      );
    }
  }
}

/**
 * When a step fails because its container went away under it (docker kill, docker stop, the engine
 * stopping, out of memory), say so: the step's own exit code (137, or 126 when the container was
 * already gone as the step started) does not. Otherwise name the signal of a 128+n exit code.
 */
async function whyStopped(container: Docker.Container, code: number): Promise<string> {
  const inspect = () =>
    container.inspect().then(
      (i) => i.State,
      () => undefined,
    );
  let state = await inspect();
  // A killed container's state lags its exec's end by a moment: for an exit code that looks like
  // it (a signal, or 126 "cannot run"), give the engine up to 2 s to say the container stopped.
  for (let i = 0; i < 20 && state?.Running && (code > 128 || code === 126); i++) {
    await new Promise((r) => setTimeout(r, 100));
    state = await inspect();
  }
  if (state && !state.Running) {
    const how = state.OOMKilled ? 'out of memory' : `exit code ${state.ExitCode}${signalOf(state.ExitCode) ? `: ${signalOf(state.ExitCode)}` : ''}`;
    return `: the build container stopped (${how}; docker kill or stop, the engine stopping, or the memory limit)`;
  }
  return signalOf(code) ? ` (${signalOf(code)})` : '';
}

/** 128+n is a process killed by signal n. */
function signalOf(code: number): string | undefined {
  if (code <= 128 || code > 128 + 64) return undefined;
  const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
  return name ? `killed by ${name}` : undefined;
}

const SHLIBS_DIR = '/tmp/crio-build-shlibs';

function shlibsEnv(targetArch: Arch | undefined): Record<string, string> {
  return shlibdepsCommand(['/x'], { hostArch: targetArch }).env;
}

/**
 * The Depends the component's dynamically linked binaries need, as dpkg-shlibdeps computes them,
 * run in the builder container: it holds the target's libraries (the `:arm64` ones in a cross builder).
 */
async function shlibsOf(
  job: BuildJob,
  outputs: BuildResult['outputs'],
  srcDir: string,
  cross: boolean,
  container: Docker.Container,
  exec: (argv: string[], capture: Buffer[]) => Promise<number>,
): Promise<string> {
  const binaries = outputs.filter((o) => o.type === 'binary').map((o) => posix.join(srcDir, o.path));
  if (binaries.length === 0) return '';
  const cmd = shlibdepsCommand(binaries, { hostArch: cross ? job.arch : undefined });
  for (const [rel, content] of Object.entries(cmd.files)) {
    await container.putArchive(singleFileTar(posix.join(posix.basename(SHLIBS_DIR), rel), Buffer.from(content)) as unknown as NodeJS.ReadableStream, { path: posix.dirname(SHLIBS_DIR) });
  }
  const out: Buffer[] = [];
  const code = await exec(cmd.argv, out);
  if (code !== 0) throw new StepError(`dpkg-shlibdeps exited ${code}`);
  return parseShlibdepsOutput(Buffer.concat(out).toString('utf8'));
}

function quote(a: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
