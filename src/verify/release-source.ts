/**
 * Where `crio-build verify` reads a release from: a release directory (artifacts/releases/<tag>),
 * or the URL its files are downloaded from (a GitHub release's .../releases/download/<tag>, a
 * static web directory, or file://). A URL's file list comes from the files the release names
 * itself: SHA256SUMS, the provenance's subjects, and the index and key files every release has.
 * Downloaded files go into a temp directory, which the checks then read like a local release.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { SourceError, UsageError, quote } from '../core/errors.js';
import { parseSha256Sums } from '../package/checksums.js';
import { CHECKSUMS_FILE } from '../plan/naming.js';
import { DEFAULT_KEYRING_NAME } from '../index/apt/index.js';
import { parseEnvelope } from '../index/attest/dsse.js';
import { PROVENANCE_FILE } from '../index/attest/statement.js';
import { MANIFEST_FILE, NOTES_FILE } from '../index/release-tree.js';

/** Files every release has besides what SHA256SUMS and the provenance name. */
export const INDEX_FILES = ['Packages', 'Packages.gz', 'Packages.xz', 'Release', 'InRelease', 'Release.gpg', `${DEFAULT_KEYRING_NAME}.gpg`, `${DEFAULT_KEYRING_NAME}.asc`, MANIFEST_FILE, CHECKSUMS_FILE, PROVENANCE_FILE];

export interface LocalRelease {
  /** A directory holding the release's files. */
  dir: string;
  /** What the user gave. */
  source: string;
  /** The published files present (the notes and dot files are not published files). */
  files: string[];
  /** Names the release lists that could not be downloaded. */
  missing: string[];
  dispose(): Promise<void>;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,254}$/;

export async function openRelease(source: string): Promise<LocalRelease> {
  if (/^https?:\/\//i.test(source)) return download(source.replace(/\/+$/, ''));
  const dir = /^file:\/\//i.test(source) ? fileURLToPath(source) : resolve(source);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError(`${quote(source)} is not a release directory or an http(s)/file URL`, 'give artifacts/releases/<tag>, or the URL the release\'s files are downloaded from');
  const files = (await readdir(dir)).filter((n) => !n.startsWith('.') && n !== NOTES_FILE).sort();
  return { dir, source, files, missing: [], dispose: async () => {} };
}

async function download(base: string): Promise<LocalRelease> {
  const dir = await mkdtemp(join(tmpdir(), 'crio-build-verify-dl-'));
  const got = new Set<string>();
  const missing: string[] = [];
  const fetchOne = async (name: string, required: boolean) => {
    if (got.has(name) || !SAFE_NAME.test(name)) return;
    const url = `${base}/${encodeURIComponent(name)}`;
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow' });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw new SourceError(`cannot reach ${url}: ${(err as Error).message}`);
    }
    if (res.status === 404) {
      if (required) missing.push(name);
      return;
    }
    if (!res.ok || !res.body) {
      await rm(dir, { recursive: true, force: true });
      throw new SourceError(`${url}: HTTP ${res.status}`);
    }
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(join(dir, name)));
    got.add(name);
  };
  // The .asc key is optional (older releases may lack it); everything else a release always has.
  for (const n of INDEX_FILES) await fetchOne(n, !n.endsWith('.asc'));
  const named = new Set<string>();
  const sums = await readFile(join(dir, CHECKSUMS_FILE), 'utf8').catch(() => '');
  for (const e of safeParseSums(sums)) named.add(e.file);
  const prov = parseEnvelope(await readFile(join(dir, PROVENANCE_FILE), 'utf8').catch(() => ''));
  if (prov.envelope) {
    try {
      const st = JSON.parse(Buffer.from(prov.envelope.payload, 'base64').toString('utf8')) as { subject?: Array<{ name?: unknown }> };
      for (const s of st.subject ?? []) if (typeof s.name === 'string') named.add(s.name);
    } catch {
      // an unreadable payload is reported by the provenance check
    }
  }
  for (const n of [...named].sort()) await fetchOne(n, true);
  return { dir, source: base, files: [...got].sort(), missing, dispose: () => rm(dir, { recursive: true, force: true }) };
}

function safeParseSums(text: string): Array<{ file: string }> {
  try {
    return parseSha256Sums(text);
  } catch {
    return [];
  }
}
