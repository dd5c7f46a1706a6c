// The Release file: what the repository is (Origin, Label, Suite, ...), when it was made and until
// when apt may trust it, and the size and checksums of every index file, which is what the
// signature over Release ultimately vouches for. Field order as apt-ftparchive and dpkg
// (CTRL_REPO_RELEASE) write it.
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../../core/errors.js';

export interface ReleaseInfo {
  /** Who publishes the repository (apt pinning matches it: `o=`). */
  origin: string;
  /** A short name for it (`l=`). */
  label: string;
  /** The suite (`a=`); with the dists layout also the directory under dists/ and the sources line's distribution. */
  suite: string;
  /** The codename (`n=`); default: the suite. */
  codename?: string;
  /** A release version (`v=`), e.g. the cri-o minor. */
  version?: string;
  description?: string;
  /** Seconds the index stays valid (Valid-Until = Date + validFor), for nightlies: apt refuses an
   * expired index, so a client never keeps installing from a stale mirror. */
  validFor?: number;
}

const NAME = /^[A-Za-z0-9.+_-]+$/;
const NAME_ALLOWED = 'letters, digits and ". + _ -", not "." or ".."';
const VERSION = /^[A-Za-z0-9.+~_-]+$/;

export function checkName(what: string, value: string): void {
  if (!NAME.test(value) || value === '.' || value === '..') {
    throw new InvalidInputError(`${what} "${value}" is not allowed (allowed: ${NAME_ALLOWED})`);
  }
}

function checkLine(what: string, value: string): void {
  if (value === '' || value.trim() !== value || /[\x00-\x1f\x7f]/.test(value)) {
    throw new InvalidInputError(`${what} ${JSON.stringify(value)} is not allowed (allowed: one non-empty line without control characters or surrounding spaces)`);
  }
}

export function checkReleaseInfo(info: ReleaseInfo): void {
  checkLine('release origin', info.origin);
  checkLine('release label', info.label);
  checkName('suite', info.suite);
  if (info.codename !== undefined) checkName('codename', info.codename);
  if (info.version !== undefined && !VERSION.test(info.version)) {
    throw new InvalidInputError(`release version "${info.version}" is not allowed (allowed: letters, digits and ". + ~ _ -")`);
  }
  if (info.description !== undefined) checkLine('release description', info.description);
  if (info.validFor !== undefined && (!Number.isSafeInteger(info.validFor) || info.validFor <= 0)) {
    throw new InvalidInputError(`validFor ${info.validFor} is not allowed (allowed: a positive whole number of seconds)`);
  }
}

/** RFC 2822 in UTC, whole seconds, as Debian's Release files write it ("Sat, 01 Jun 2020 12:00:00 UTC"). */
export function releaseDate(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toUTCString().replace(/GMT$/, 'UTC');
}

export interface ReleaseContent {
  date: Date;
  architectures: readonly string[];
  /** dists layout only. */
  components?: readonly string[];
  /** Index files, paths relative to the Release file's directory. */
  files: ReadonlyArray<{ path: string; data: Buffer }>;
  /** The indexes are also at by-hash/SHA256/<sha256> beside them (dists layout): apt then fetches them by hash. */
  acquireByHash?: boolean;
}

export function renderRelease(info: ReleaseInfo, c: ReleaseContent): string {
  const fields: Array<[string, string | undefined]> = [
    ['Origin', info.origin],
    ['Label', info.label],
    ['Suite', info.suite],
    ['Version', info.version],
    ['Codename', info.codename ?? info.suite],
    ['Date', releaseDate(c.date)],
    ['Valid-Until', info.validFor !== undefined ? releaseDate(new Date(c.date.getTime() + info.validFor * 1000)) : undefined],
    ['Acquire-By-Hash', c.acquireByHash ? 'yes' : undefined],
    ['Architectures', c.architectures.join(' ')],
    ['Components', c.components?.join(' ')],
    ['Description', info.description],
  ];
  let out = fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}\n`).join('');
  const files = [...c.files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  for (const [title, algorithm] of [['MD5Sum', 'md5'], ['SHA256', 'sha256']] as const) {
    out += `${title}:\n`;
    for (const f of files) {
      // apt-ftparchive's layout: the size right-aligned in 16 columns.
      out += ` ${createHash(algorithm).update(f.data).digest('hex')} ${String(f.data.length).padStart(16)} ${f.path}\n`;
    }
  }
  return out;
}
