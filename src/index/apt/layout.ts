// Where things go in the two repository layouts.
//  flat:  everything in one directory (one GitHub release's downloads are the repository);
//         Filename: ./<file>.deb; sources line "deb [signed-by=...] <base-url> ./".
//  dists: Debian's archive layout: pool/main/<prefix>/<source>/<file>.deb and
//         dists/<suite>/main/binary-<arch>/Packages*, with dists/<suite>/Release over them;
//         sources line "deb [signed-by=...] <base-url> <suite> main".
import { basename } from 'node:path';
import { InvalidInputError } from '../../core/errors.js';
import type { IndexedDeb } from './packages.js';

export type LayoutKind = 'flat' | 'dists';

export const COMPONENT = 'main';

export interface IndexPlan {
  /** Directory of Packages* relative to the repository root ("" for the root). */
  dir: string;
  entries: Array<{ deb: IndexedDeb; filename: string }>;
}

export interface LayoutPlan {
  /** Where each .deb goes, relative to the repository root. */
  placements: Array<{ deb: IndexedDeb; rel: string }>;
  indexes: IndexPlan[];
  /** Directory of Release, InRelease and Release.gpg, relative to the root. */
  releaseDir: string;
  components?: string[];
  /** The distribution and components part of the sources line. */
  sourcesSuffix: string;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*\.deb$/;

export function debFileName(deb: IndexedDeb): string {
  const name = basename(deb.path);
  if (!FILE_NAME.test(name)) {
    throw new InvalidInputError(`${deb.path}: file name "${name}" is not allowed in a repository (allowed: letters, digits and ". + ~ _ -", ending in .deb)`);
  }
  return name;
}

/** Debian's pool prefix: the first letter, or "lib" and the next letter for lib* sources. */
export function poolPrefix(source: string): string {
  return source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source.slice(0, 1);
}

/** arch "all" packages belong in every architecture's index. */
function forArch(debs: readonly IndexedDeb[], arch: string): IndexedDeb[] {
  return debs.filter((d) => d.architecture === arch || d.architecture === 'all');
}

export function planLayout(kind: LayoutKind, debs: readonly IndexedDeb[], architectures: readonly string[], suite: string): LayoutPlan {
  const placements = debs.map((deb) => {
    const name = debFileName(deb);
    return { deb, rel: kind === 'flat' ? name : `pool/${COMPONENT}/${poolPrefix(deb.source)}/${deb.source}/${name}` };
  });
  const seen = new Map<string, string>();
  for (const p of placements) {
    const other = seen.get(p.rel);
    if (other !== undefined) throw new InvalidInputError(`${other} and ${p.deb.path} would both be published as ${p.rel}`, 'give each .deb file a distinct name');
    seen.set(p.rel, p.deb.path);
  }
  const relOf = new Map(placements.map((p) => [p.deb, p.rel]));
  if (kind === 'flat') {
    return {
      placements,
      indexes: [{ dir: '', entries: debs.map((deb) => ({ deb, filename: `./${relOf.get(deb)}` })) }],
      releaseDir: '',
      sourcesSuffix: './',
    };
  }
  return {
    placements,
    indexes: architectures.map((arch) => ({
      dir: `dists/${suite}/${COMPONENT}/binary-${arch}`,
      entries: forArch(debs, arch).map((deb) => ({ deb, filename: relOf.get(deb) as string })),
    })),
    releaseDir: `dists/${suite}`,
    components: [COMPONENT],
    sourcesSuffix: `${suite} ${COMPONENT}`,
  };
}
