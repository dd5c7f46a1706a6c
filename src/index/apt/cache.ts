// Stanza cache: rebuilding an index after adding one package reads only that package. A .deb is
// taken as unchanged while its absolute path, size, mtime, inode and device are; anything else
// (a rewrite in place, a replacement under the same name) reads it again. The cache file lives
// wherever the caller says (a cache directory), never in the published tree.
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Stats } from 'node:fs';
import { InvalidInputError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { readDeb, type DebFacts } from './debfile.js';

const FORMAT = 'crio-build apt stanza cache 1';

interface Entry extends DebFacts {
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

export interface ReadStats {
  /** .debs read (opened and hashed) in this run. */
  read: number;
  /** .debs whose cached stanza and hashes were used. */
  reused: number;
}

export class StanzaCache {
  private readonly used = new Map<string, Entry>();
  readonly stats: ReadStats = { read: 0, reused: 0 };

  private constructor(
    private readonly file: string | undefined,
    private readonly previous: Map<string, Entry>,
  ) {}

  /** A missing, unreadable or foreign cache file starts empty: the cache only saves work. */
  static async load(file: string | undefined): Promise<StanzaCache> {
    const previous = new Map<string, Entry>();
    if (file !== undefined) {
      try {
        const parsed = JSON.parse(await readFile(file, 'utf8')) as { format?: unknown; entries?: Record<string, Entry> };
        if (parsed.format === FORMAT && parsed.entries && typeof parsed.entries === 'object') {
          for (const [k, v] of Object.entries(parsed.entries)) previous.set(k, v);
        }
      } catch {
        // start empty
      }
    }
    return new StanzaCache(file, previous);
  }

  /** The control paragraph and hashes of `path`, from the cache when the file is unchanged. */
  async facts(path: string): Promise<DebFacts> {
    const key = resolve(path);
    const before = await statOf(path);
    const hit = this.previous.get(key) ?? this.used.get(key);
    if (hit && same(hit, before)) {
      this.used.set(key, hit);
      this.stats.reused++;
      return { control: hit.control, size: hit.size, md5: hit.md5, sha256: hit.sha256 };
    }
    const facts = await readDeb(path);
    const after = await statOf(path);
    if (!same(identity(before), after) || facts.size !== after.size) {
      throw new InvalidInputError(`${path} changed while it was read; rerun when it is complete`);
    }
    this.used.set(key, { ...facts, ...identity(after) });
    this.stats.read++;
    return facts;
  }

  /** Writes the entries of this run only, so removed packages drop out of the cache. */
  async save(): Promise<void> {
    if (this.file === undefined) return;
    const entries = Object.fromEntries([...this.used.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await writeFileAtomic(this.file, `${JSON.stringify({ format: FORMAT, entries }, null, 1)}\n`);
  }
}

async function statOf(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    throw new InvalidInputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function identity(s: Pick<Stats, 'size' | 'mtimeMs' | 'ino' | 'dev'>): Pick<Entry, 'size' | 'mtimeMs' | 'ino' | 'dev'> {
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, dev: s.dev };
}

function same(a: Pick<Entry, 'size' | 'mtimeMs' | 'ino' | 'dev'>, b: Pick<Stats, 'size' | 'mtimeMs' | 'ino' | 'dev'>): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
}
