/**
 * SHA256SUMS beside the artifacts, in the format `sha256sum -c` checks: one line per file,
 * "<64 hex digits><two spaces><file name>", sorted by file name (bytewise), so the same artifacts
 * always give the same file.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { CHECKSUMS_FILE } from '../plan/naming.js';

export interface ChecksumEntry {
  /** A file name in the same directory as SHA256SUMS (no directory part). */
  file: string;
  sha256: string;
}

function checkEntry(e: ChecksumEntry): void {
  if (!/^[0-9a-f]{64}$/.test(e.sha256)) throw new Error(`checksums: ${e.file}: "${e.sha256}" is not a lower-case hex sha256`);
  // sha256sum escapes names with a backslash or newline; ours never need it.
  if (e.file === '' || e.file === '.' || e.file === '..' || /[/\\\0\n\r]/.test(e.file)) {
    throw new Error(`checksums: ${JSON.stringify(e.file)} is not a plain file name`);
  }
}

export function renderSha256Sums(entries: readonly ChecksumEntry[]): string {
  const seen = new Set<string>();
  for (const e of entries) {
    checkEntry(e);
    if (seen.has(e.file)) throw new Error(`checksums: ${e.file} listed twice`);
    seen.add(e.file);
  }
  return [...entries]
    .sort((a, b) => Buffer.compare(Buffer.from(a.file), Buffer.from(b.file)))
    .map((e) => `${e.sha256}  ${e.file}\n`)
    .join('');
}

/** Reads a SHA256SUMS text (text or binary mode markers). */
export function parseSha256Sums(text: string): ChecksumEntry[] {
  const out: ChecksumEntry[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new Error(`checksums: line ${i + 1} is not "<sha256>  <file>": ${JSON.stringify(line)}`);
    out.push({ sha256: m[1] as string, file: m[2] as string });
  }
  return out;
}

/** Writes `dir`/SHA256SUMS atomically and returns its path. */
export async function writeSha256Sums(dir: string, entries: readonly ChecksumEntry[]): Promise<string> {
  const path = join(dir, CHECKSUMS_FILE);
  await writeFileAtomic(path, renderSha256Sums(entries));
  return path;
}
