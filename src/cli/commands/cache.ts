/**
 * `crio-build cache list|prune`: what the cache dir holds (downloads, git repos, build outputs) and
 * removing what is no longer needed. Builder images are pruned by `crio-build builders prune`.
 */
import { existsSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { loadSettings } from '../../settings/settings.js';
import { UsageError } from '../../core/errors.js';
import { cacheTotals, listCache, PRUNABLE_KINDS, type CacheEntry, type PrunableKind, type PruneResult } from '../../admin/cache-admin.js';
import { pruneCacheDir } from '../../admin/cache-prune.js';
import { table } from '../render.js';

interface CacheArgs {
  config?: string;
  'cache-dir'?: string;
  json: boolean;
}

interface PruneArgs extends CacheArgs {
  'older-than'?: string | string[];
  all: boolean;
  'keep-latest'?: string | string[];
  kind?: string[];
  'dry-run': boolean;
  wait: boolean;
}

/** A user's value in an error message: quoted, escaped, not too long. */
const shown = (v: string) => JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);

function single(flag: string, v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) throw new UsageError(`--${flag} was given ${v.length} times`, `give --${flag} once`);
  return v;
}

export function parseDays(v: string | string[] | undefined): number | undefined {
  const s = single('older-than', v);
  if (s === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*d?\s*$/.exec(s);
  if (!m) throw new UsageError(`--older-than: expected a number of days (e.g. 30 or 0.5), got ${shown(s)}`, 'entries not used for that many days are removed; --all removes every entry not in use');
  return Number(m[1]);
}

export function parseKeep(v: string | string[] | undefined): number | undefined {
  const s = single('keep-latest', v);
  if (s === undefined) return undefined;
  if (!/^\d{1,6}$/.test(s.trim())) throw new UsageError(`--keep-latest: expected a whole number of builds (0 or more), got ${shown(s)}`, 'the newest N builds of each component and arch are kept (default 1)');
  return Number(s.trim());
}

export function parseKinds(v: string[] | undefined): PrunableKind[] | undefined {
  if (!v || v.length === 0) return undefined;
  const kinds = v.flatMap((k) => k.split(',')).map((k) => k.trim());
  for (const k of kinds) {
    if (!(PRUNABLE_KINDS as readonly string[]).includes(k)) throw new UsageError(`--kind: unknown kind ${shown(k)}`, `allowed kinds: ${PRUNABLE_KINDS.join(', ')}`);
  }
  return [...new Set(kinds)] as PrunableKind[];
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function formatWhen(d: Date, now = Date.now()): string {
  const s = Math.max(0, (now - d.getTime()) / 1000);
  if (s < 60) return `${d.toISOString().slice(0, 16).replace('T', ' ')} (just now)`;
  const ago = s < 3600 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} (${ago} ago)`;
}

function describe(e: CacheEntry): string {
  const d = e.details;
  const parts = [d.component, d.arch, d.version, d.strategy, d.source, d.note].filter(Boolean) as string[];
  if (d.pid !== undefined) parts.push(`pid ${d.pid} ${d.running ? 'running' : 'gone'}`);
  if (e.inUse) parts.push('(in use)');
  return parts.join(' ') || '-';
}

function row(e: CacheEntry): string[] {
  return [e.kind, e.key.slice(0, 12), formatBytes(e.size), formatWhen(e.lastUsed), describe(e)];
}

export function cacheListText(cacheDir: string, entries: CacheEntry[]): string {
  const totals = cacheTotals(entries);
  const lines = [`Cache ${cacheDir}: ${totals.count} entries, ${formatBytes(totals.size)}`];
  if (entries.length === 0) return lines[0] + (existsSync(cacheDir) ? '' : ' (the directory does not exist yet)');
  const sorted = [...entries].sort((a, b) => a.kind.localeCompare(b.kind) || b.lastUsed.getTime() - a.lastUsed.getTime());
  lines.push(table(['kind', 'key', 'size', 'last used (UTC)', 'details'], sorted.map(row)));
  lines.push('', 'Totals:');
  const kinds = Object.entries(totals.byKind).sort(([a], [b]) => a.localeCompare(b));
  lines.push(table(['kind', 'entries', 'size'], [...kinds.map(([k, t]) => [k, String(t.count), formatBytes(t.size)]), ['all', String(totals.count), formatBytes(totals.size)]]));
  return lines.join('\n');
}

export function pruneText(r: PruneResult): string {
  const lines: string[] = [];
  const verb = r.dryRun ? 'would remove' : 'removed';
  if (r.removed.length) lines.push(table(['', 'kind', 'key', 'size', 'last used (UTC)', 'details'], r.removed.map((e) => [verb, ...row(e)])));
  if (r.skipped.length) {
    lines.push(table(['', 'kind', 'key', 'size', 'last used (UTC)', 'why kept'], r.skipped.map((s) => ['kept', ...row(s.entry).slice(0, 4), s.detail])));
  }
  lines.push(`${r.dryRun ? 'Would remove' : 'Removed'} ${r.removed.length} entries, ${r.dryRun ? 'freeing' : 'freed'} ${formatBytes(r.bytesFreed)}${r.skipped.length ? `; kept ${r.skipped.length} in use or recent` : ''}${r.dryRun ? ' (dry run: nothing was removed)' : ''}`);
  return lines.join('\n');
}

function cacheOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'settings file (for its cacheDir); default $CRIO_BUILD_CONFIG or ~/.config/crio-build/config.yaml' })
    .option('cache-dir', { type: 'string', describe: 'the cache (default $CRIO_BUILD_CACHE or ~/.cache/crio-build)' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout' });
}

async function cacheDirOf(a: CacheArgs): Promise<string> {
  return (await loadSettings({ config: a.config, cacheDir: a['cache-dir'] })).cacheDir;
}

export const cacheCommand: CommandModule = {
  command: 'cache',
  describe: 'list or prune the cache (downloads, git repos, build outputs)',
  builder: (y: Argv) =>
    cacheOptions(y)
      .command<CacheArgs>(
        'list',
        'list cache entries: kind, key, size, when last used, what it is; and totals',
        (yy) => yy as unknown as Argv<CacheArgs>,
        async (a) => {
          const dir = await cacheDirOf(a);
          const entries = await listCache(dir);
          if (a.json) return void process.stdout.write(JSON.stringify({ cacheDir: dir, entries, totals: cacheTotals(entries) }, null, 2) + '\n');
          process.stdout.write(cacheListText(dir, entries) + '\n');
        },
      )
      .command<PruneArgs>(
        'prune',
        'remove cache entries not in use: by default only leftovers (partial downloads older than a day, scratch dirs of dead processes); --older-than DAYS also what was not used for that long; --all everything not in use',
        (yy) =>
          yy
            .option('older-than', { type: 'string', describe: 'also remove builds, downloads and git repos not used for DAYS days (keeps the newest build of each component and arch)' })
            .option('all', { type: 'boolean', default: false, describe: 'remove every entry no running fetch or build holds' })
            .option('keep-latest', { type: 'string', describe: 'with --older-than: keep the newest N builds of each component and arch (default 1)' })
            .option('kind', { type: 'string', array: true, describe: `only these kinds: ${PRUNABLE_KINDS.join(', ')}` })
            .option('dry-run', { type: 'boolean', default: false, describe: 'say what would be removed, remove nothing' })
            .option('wait', { type: 'boolean', default: true, describe: 'wait for a run using the cache to finish (--no-wait: fail at once, exit 75)' }) as unknown as Argv<PruneArgs>,
        async (a) => {
          let olderThanDays = parseDays(a['older-than']);
          let keepLatest = parseKeep(a['keep-latest']);
          const kinds = parseKinds(a.kind);
          if (a.all && olderThanDays !== undefined) throw new UsageError('--all and --older-than exclude each other', '--all removes every entry not in use; --older-than DAYS only those not used for DAYS days');
          if (a.all && keepLatest !== undefined) throw new UsageError('--all and --keep-latest exclude each other', 'use --older-than 0 --keep-latest N to remove everything but the newest N builds of each component');
          if (keepLatest !== undefined && olderThanDays === undefined) throw new UsageError('--keep-latest needs --older-than DAYS', 'without an age only leftovers are removed, and builds are kept anyway');
          if (a.all) {
            olderThanDays = 0;
            keepLatest = 0;
          }
          const dir = await cacheDirOf(a);
          const r = await pruneCacheDir({
            cacheDir: dir,
            olderThanDays,
            keepLatestPerComponent: keepLatest ?? (olderThanDays !== undefined ? 1 : 0),
            kinds,
            dryRun: a['dry-run'],
            wait: a.wait,
            onWaiting: (m) => process.stderr.write(`crio-build: ${m}\n`),
          });
          if (!r) process.stdout.write(a.json ? JSON.stringify({ cacheDir: dir, dryRun: a['dry-run'], removed: [], bytesFreed: 0, skipped: [] }, null, 2) + '\n' : `Cache ${dir} does not exist: nothing to prune\n`);
          else process.stdout.write(a.json ? JSON.stringify({ cacheDir: dir, ...r }, null, 2) + '\n' : pruneText(r) + '\n');
        },
      )
      .demandCommand(1, 'say `cache list` or `cache prune`'),
  handler: () => undefined,
};
