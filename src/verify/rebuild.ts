/**
 * `crio-build verify --rebuild`: builds the release again from what its signed provenance states
 * (per arch: the same lock, strategies, pause image, pin swaps and toolchain swaps; the recorded
 * mirrors, after the user's own, since the original ones may be local to the builder) through the
 * same pipeline entry the CLI uses, up to the package stage, in a fresh cache and artifacts dir,
 * then compares every deterministic file byte for byte: .debs, bundles, SBOMs, .buildinfo files.
 * The apt index, its signatures and the provenance carry dates: they are checked by signature.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GO_CACHE } from '../settings/settings.js';
import type { Settings } from '../settings/settings.js';
import { CrioBuildError, ExitCode } from '../core/errors.js';
import { packagesDir } from '../package/package-all.js';
import { runPipeline, type Context, type PipelineEvents } from '../pipeline/pipeline.js';
import { recipesDigest } from '../package/invocation.js';
import type { ProvenanceStatement } from '../index/attest/statement.js';
import { readRecord } from '../package/record.js';
import type { Arch } from '../recipe/schema.js';
import { TOOL_VERSION } from '../core/keys.js';
import { diffBytes, type Difference } from './archive-diff.js';

export interface RebuildOptions {
  statement: ProvenanceStatement;
  /** The release's files. */
  dir: string;
  /** The user's settings: their mirrors come before the recorded ones; their hosts build. */
  user: Pick<Settings, 'mirrors' | 'hosts'>;
  recipesDir?: string;
  /** Keep the temp dirs (and say where). */
  keep?: boolean;
  events: (label: string) => PipelineEvents;
  note: (message: string) => void;
}

export interface RebuildOutcome {
  /** Files compared, each identical or with its differences. */
  compared: Array<{ file: string; arch: string; differences: Difference[] }>;
  /** An input the mirrors no longer have (exit 4): what it was. */
  unavailable?: string;
  runs: Context[];
}

/** A build error that says an input is gone: a source, toolchain or builder package set (exit 4). */
function unavailableInput(err: unknown): string | undefined {
  const e = err as CrioBuildError & { failures?: Array<{ name: string; error: Error }> };
  if (e instanceof CrioBuildError && e.exitCode === ExitCode.source) return e.message + (e.hint ? ` (${e.hint})` : '');
  const f = e?.failures?.find((x) => x.error instanceof CrioBuildError && x.error.exitCode === ExitCode.source);
  return f ? `${f.name}: ${f.error.message}` : undefined;
}

export async function rebuildAndCompare(o: RebuildOptions): Promise<RebuildOutcome> {
  const def = o.statement.predicate.buildDefinition;
  const root = await mkdtemp(join(tmpdir(), 'crio-build-rebuild-'));
  const out: RebuildOutcome = { compared: [], runs: [] };
  try {
    const localRecipes = await recipesDigest(o.recipesDir);
    for (const a of def.internalParameters.arches) {
      const arch = a.arch as Arch;
      const run = def.externalParameters.runs.find((r) => r.arch === a.arch);
      if (!a.build || !run?.settings) {
        out.unavailable = `${a.arch}: the provenance records no build inputs (lock, settings) for it: it was packaged by \`crio-build package\` or an older crio-build`;
        return out;
      }
      if (a.build.recipesDigest !== localRecipes) o.note(`${a.arch}: the release was made with recipes ${a.build.recipesDigest.slice(0, 16)}…, these recipes are ${localRecipes.slice(0, 16)}… (a difference may come from that)`);
      if (a.build.toolVersion !== TOOL_VERSION) o.note(`${a.arch}: the release was made by crio-build ${a.build.toolVersion}, this is ${TOOL_VERSION} (a difference may come from that)`);
      const lockFile = join(root, `${a.arch}.lock.json`);
      await writeFile(lockFile, `${JSON.stringify(a.build.lock, null, 2)}\n`);
      const settings: Settings = {
        cacheDir: join(root, 'cache'),
        mirrors: [...o.user.mirrors, ...run.settings.mirrors],
        toolchains: run.settings.toolchains,
        components: run.settings.components,
        ...(o.user.hosts ? { hosts: o.user.hosts } : {}),
        // A rebuild from nothing: no Go build cache kept from earlier builds on these hosts either,
        // so what it compares against is made only from the provenance's inputs.
        goBuildCache: { ...DEFAULT_GO_CACHE, enabled: false },
      };
      const artifactsDir = join(root, 'artifacts');
      o.note(`rebuilding ${a.branch} ${a.arch} from the provenance's lock in ${root}${o.keep ? ' (kept)' : ''}`);
      let ctx: Context;
      try {
        ctx = await runPipeline(
          { branch: a.branch, arch, settings, recipesDir: o.recipesDir, artifactsDir, lockFile, until: 'package', ...(a.build.strategy ? { strategy: a.build.strategy } : {}), ...(a.build.pauseImage ? { pauseImage: a.build.pauseImage } : {}) },
          o.events(`rebuild ${a.branch}/${a.arch}`),
        );
      } catch (err) {
        const ctxOf = (err as { context?: Context }).context;
        if (ctxOf) out.runs.push(ctxOf);
        const gone = unavailableInput(err);
        if (gone) {
          out.unavailable = `${a.arch}: ${gone}`;
          return out;
        }
        throw err;
      }
      out.runs.push(ctx);
      const pkgDir = packagesDir(artifactsDir, a.branch, arch);
      const rebuilt = (await readRecord(pkgDir))?.artifacts.map((x) => x.file) ?? [];
      for (const file of [...new Set([...a.artifacts.map((x) => x.file), ...rebuilt])].sort()) {
        out.compared.push({ file, arch: a.arch, differences: await compareOne(join(o.dir, file), join(pkgDir, file), file) });
      }
    }
    return out;
  } finally {
    if (o.keep) o.note(`kept the rebuild's cache and artifacts in ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
}

async function compareOne(published: string, rebuilt: string, file: string): Promise<Difference[]> {
  const [a, b] = await Promise.all([readFile(published).catch(() => undefined), readFile(rebuilt).catch(() => undefined)]);
  if (!a && !b) return [{ where: file, what: 'neither published nor rebuilt' }];
  if (!a) return [{ where: file, what: 'rebuilt, but not in the published release' }];
  if (!b) return [{ where: file, what: 'published, but the rebuild made no such file' }];
  return diffBytes(file, a, b);
}
