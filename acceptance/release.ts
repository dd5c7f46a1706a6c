/**
 * A published release, as the acceptance run reads it: a release directory
 * (artifacts/releases/<tag>/, or a copy of one) or the URL it is served at. What it needs from it:
 * RELEASE_NOTES.md (the ```sh block a user copies, and the base URL those lines name) and the flat
 * apt index (Packages: which arches and versions it has).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ReleasePackage {
  name: string;
  version: string;
  arch: string;
}

export interface Release {
  /** What the user gave. */
  source: string;
  /** The release directory, when one was given (or the file:// URL names one). */
  dir?: string;
  /** The URL, when one was given. */
  url?: string;
  notes: string;
  /** The first line of the notes (what the release is). */
  title: string;
  /** The lines of the notes' sh block, exactly as written. */
  setupLines: string[];
  /** The repository URL the lines name (the part before /<keyring>.gpg in the curl line). */
  baseUrl: string;
  packages: ReleasePackage[];
  arches: string[];
}

export class ReleaseError extends Error {}

/** The lines of the first ```sh block. */
export function setupLinesOf(notes: string): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(notes)?.[1];
  if (!block) throw new ReleaseError('RELEASE_NOTES.md has no ```sh block to install from');
  return block.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** The repository URL named by the notes' lines (curl ... <base>/<keyring>.gpg, or the deb line). */
export function baseUrlOf(lines: readonly string[]): string {
  for (const l of lines) {
    const curl = /\bcurl\b.*?\s((?:https?|file):\/\/\S+)\/[^/\s]+\.gpg\b/.exec(l);
    if (curl?.[1]) return curl[1];
    const deb = /\bdeb\s+(?:\[[^\]]*\]\s+)?((?:https?|file):\/\/\S+)\s/.exec(l);
    if (deb?.[1]) return deb[1];
  }
  throw new ReleaseError('the release notes\' lines name no repository URL (no curl .../KEYRING.gpg and no deb line)');
}

export function parsePackages(text: string): ReleasePackage[] {
  const out: ReleasePackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (f: string) => new RegExp(`^${f}:\\s*(.+)$`, 'm').exec(stanza)?.[1]?.trim();
    const name = field('Package');
    const version = field('Version');
    const arch = field('Architecture');
    if (name && version && arch) out.push({ name, version, arch });
  }
  return out;
}

async function fetchText(url: string): Promise<string> {
  let r: Response;
  try {
    r = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    throw new ReleaseError(`cannot fetch ${url}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`);
  }
  if (!r.ok) throw new ReleaseError(`${url}: HTTP ${r.status}`);
  return r.text();
}

export async function loadRelease(source: string): Promise<Release> {
  let dir: string | undefined;
  let url: string | undefined;
  if (/^https?:\/\//.test(source)) url = source.replace(/\/+$/, '');
  else dir = resolve(source.startsWith('file://') ? fileURLToPath(source) : source);
  let notes: string;
  let packages: string;
  if (dir) {
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new ReleaseError(`${source} is not a release directory`);
    notes = await readFile(resolve(dir, 'RELEASE_NOTES.md'), 'utf8').catch(() => {
      throw new ReleaseError(`${dir} has no RELEASE_NOTES.md: is it a release directory (artifacts/releases/<tag>)?`);
    });
    packages = await readFile(resolve(dir, 'Packages'), 'utf8').catch(() => {
      throw new ReleaseError(`${dir} has no Packages index`);
    });
  } else {
    notes = await fetchText(`${url}/RELEASE_NOTES.md`);
    packages = await fetchText(`${url}/Packages`);
  }
  const setupLines = setupLinesOf(notes);
  const pkgs = parsePackages(packages);
  return {
    source,
    ...(dir ? { dir } : {}),
    ...(url ? { url } : {}),
    notes,
    title: notes.split('\n')[0]?.trim() ?? '',
    setupLines,
    baseUrl: baseUrlOf(setupLines),
    packages: pkgs,
    arches: [...new Set(pkgs.map((p) => p.arch))].sort(),
  };
}
