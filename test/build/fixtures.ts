/**
 * Shared set-up of the builder suites and the benchmark: the Docker driver, the miniature upstream
 * repositories, the Go toolchain tarballs made from Debian's golang-1.19 (the recipes' go1.13.10
 * cannot be downloaded here) and BuildJobs made from the real component recipes. Everything
 * expensive is made once per process and cached on disk across runs, so the builder images' content
 * keys stay the same and the images are reused.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadRecipes } from '../../src/recipe/loader.js';
import type { Arch, BuildDefinition, Strategy } from '../../src/recipe/schema.js';
import { connectDocker, type DockerDriver } from '../../src/hosts/docker.js';
import { sha256File } from '../../src/core/hash.js';
import type { BuildJob, ToolchainInput } from '../../src/plan/build-job.js';
import { createUpstreams, type Upstreams } from '../fixtures/upstreams.js';
import { makeGoToolchainTarball } from '../fixtures/toolchain.js';

const run = promisify(execFile);

/** Survives between runs (toolchain tarballs are deterministic, so image keys stay put). */
export const TEST_CACHE = process.env.CRIO_BUILD_TEST_CACHE ?? join(tmpdir(), 'crio-build-test-cache');

let driverP: Promise<DockerDriver> | undefined;
export function testDriver(): Promise<DockerDriver> {
  return (driverP ??= connectDocker());
}

let upstreamsP: Promise<Upstreams> | undefined;
export function upstreams(): Promise<Upstreams> {
  return (upstreamsP ??= mkdtemp(join(tmpdir(), 'crio-build-upstreams-')).then((d) => createUpstreams(d)));
}

const toolchainP = new Map<Arch, Promise<ToolchainInput>>();
export function toolchain(arch: Arch): Promise<ToolchainInput> {
  let p = toolchainP.get(arch);
  if (!p) {
    p = (async () => {
      const dir = join(TEST_CACHE, 'toolchains');
      await mkdir(dir, { recursive: true });
      // The fixture asks apt for the package checksums on every call (and waits for apt's lock when
      // another process holds it); once a tarball is made and still verifies, use it without apt.
      const record = join(dir, `builder-tests-${arch}.json`);
      const known = await readFile(record, 'utf8').then((t) => JSON.parse(t) as ToolchainInput, () => undefined);
      if (known && existsSync(known.tarball) && (await sha256File(known.tarball)) === known.sha256) return known;
      const t = await makeGoToolchainTarball(arch, dir);
      const input: ToolchainInput = { name: 'go1.19-debian', version: t.goVersion.replace(/^go/, ''), tarball: t.path, sha256: t.sha256, root: 'go', arch, env: {} };
      await writeFile(record, JSON.stringify(input, null, 2) + '\n');
      return input;
    })();
    toolchainP.set(arch, p);
  }
  return p;
}

let recipesP: ReturnType<typeof loadRecipes> | undefined;
export async function recipeBuild(component: string): Promise<BuildDefinition> {
  const set = await (recipesP ??= loadRecipes());
  const c = set.components.get(component);
  if (!c) throw new Error(`no component recipe ${component}`);
  return structuredClone(c.recipe.build);
}

export const FIXTURE_REPO = { 'cri-o': 'crio', conmon: 'conmon', 'cni-plugins': 'cniPlugins', 'cri-tools': 'criTools' } as const;
export type FixtureComponent = keyof typeof FIXTURE_REPO;

export interface JobSpec {
  component: FixtureComponent;
  arch: Arch;
  strategy: Strategy;
  hostArch: Arch;
  /** Tag or branch of the fixture repo; the recipe's pin for the branch release-1.18 by default. */
  ref?: string;
  version?: string;
  outRoot: string;
  build?: BuildDefinition;
}

const DEFAULT_REF: Record<FixtureComponent, string> = { 'cri-o': 'v1.18.1', conmon: 'v2.0.11', 'cni-plugins': 'v0.8.1', 'cri-tools': 'v1.18.0' };

export async function fixtureJob(spec: JobSpec): Promise<BuildJob> {
  const ups = await upstreams();
  const repo = ups[FIXTURE_REPO[spec.component]];
  const ref = spec.ref ?? DEFAULT_REF[spec.component];
  const commit = repo.tags[ref] ?? repo.branches[ref];
  if (!commit) throw new Error(`fixture ${repo.slug} has no ${ref}`);
  const { stdout } = await run('git', ['--git-dir', repo.path, 'log', '-1', '--format=%ct', commit]);
  const build = spec.build ?? (await recipeBuild(spec.component));
  // Toolchain runs on the container's arch: the target's for emulate, the host's for cross.
  const runsOn: Arch = spec.strategy === 'emulate' || spec.arch === spec.hostArch ? spec.arch : spec.hostArch;
  const dir = join(spec.outRoot, `${spec.component}-${spec.arch}-${spec.strategy}`);
  return {
    component: spec.component,
    arch: spec.arch,
    strategy: spec.strategy,
    build: { ...build, strategy: spec.strategy },
    source: { repoPath: repo.path, commit, commitTime: Number(stdout.trim()), url: repo.githubUrl },
    version: spec.version ?? ref.replace(/^v/, ''),
    toolchain: await toolchain(runsOn),
    outDir: join(dir, 'out'),
    logFile: join(dir, 'build.log'),
  };
}
