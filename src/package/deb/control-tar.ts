// Builds control.tar.gz in memory: it holds only metadata (a few KiB, growing
// with the number of files, not their size), and it can only be written once
// data.tar has been streamed, because md5sums and Installed-Size come from it.
import { gzipBuffer } from './compress.js';
import { addEntry, createPack } from './tar.js';
import type { MaintainerScripts } from './types.js';
import { byteOrder } from '../../core/order.js';

export const SCRIPT_NAMES = ['preinst', 'postinst', 'prerm', 'postrm'] as const;

export interface ControlMembers {
  control: string;
  md5sums: Array<[string, string]>;
  conffiles: string[];
  scripts?: MaintainerScripts;
}

export function checkScripts(scripts: MaintainerScripts | undefined): void {
  for (const [name, body] of Object.entries(scripts ?? {})) {
    if (body === undefined) continue;
    if (!(SCRIPT_NAMES as readonly string[]).includes(name)) {
      throw new Error(`maintainer script "${name}": allowed are ${SCRIPT_NAMES.join(', ')}`);
    }
    // dpkg execs the script directly; without "#!" that fails at install time.
    if (typeof body !== 'string' || !body.startsWith('#!')) {
      throw new Error(`maintainer script ${name}: must be a string starting with an interpreter line ("#!/bin/sh")`);
    }
  }
}


/** md5sums as dh_md5sums writes it: "hash  path" lines sorted by path (LC_ALL=C). */
export function renderMd5sums(md5sums: Array<[string, string]>): string {
  return [...md5sums]
    .sort(([a], [b]) => byteOrder(a, b))
    .map(([path, hash]) => `${hash}  ${path}\n`)
    .join('');
}

/** Returns the uncompressed control.tar; members sorted by name after "./". */
export async function buildControlTar(m: ControlMembers, mtime: number): Promise<Buffer> {
  const files = new Map<string, { body: string; mode: number }>();
  files.set('control', { body: m.control, mode: 0o644 });
  // dpkg-deb omits empty md5sums/conffiles; an empty one is a lintian warning.
  if (m.md5sums.length > 0) files.set('md5sums', { body: renderMd5sums(m.md5sums), mode: 0o644 });
  if (m.conffiles.length > 0) files.set('conffiles', { body: m.conffiles.map((c) => `${c}\n`).join(''), mode: 0o644 });
  for (const name of SCRIPT_NAMES) {
    const body = m.scripts?.[name];
    if (body !== undefined) files.set(name, { body, mode: 0o755 });
  }

  const pack = createPack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.once('end', resolve);
    pack.once('error', reject);
  });
  await addEntry(pack, { name: './', type: 'directory', mode: 0o755, mtime });
  for (const name of [...files.keys()].sort(byteOrder)) {
    const f = files.get(name) as { body: string; mode: number };
    await addEntry(pack, { name: `./${name}`, type: 'file', mode: f.mode, mtime }, Buffer.from(f.body, 'utf8'));
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export async function buildControlTarGz(m: ControlMembers, mtime: number, level: number): Promise<Buffer> {
  return gzipBuffer(await buildControlTar(m, mtime), level);
}
