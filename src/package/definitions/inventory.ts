/**
 * What a component's build output directory holds, read once and shared by the .deb definitions and
 * the bundle. The directory is laid out as in the upstream source tree (what the builder copies out
 * of the container): bin/crio, crio.conf, contrib/systemd/crio.service, completions/bash/crio,
 * docs/crio.8, _output/crictl, ... Missing optional parts are simply absent from the inventory.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface InventoryFile {
  /** File name as installed (basename). */
  name: string;
  /** Absolute path in the build output. */
  path: string;
}

export interface ManPage extends InventoryFile {
  section: string;
}

export interface Completion extends InventoryFile {
  shell: 'bash' | 'fish' | 'zsh';
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}

/** Regular files directly in `dir` (sorted), or [] if it does not exist. Symlinks and subdirectories are skipped. */
export async function filesIn(dir: string): Promise<InventoryFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: InventoryFile[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (await isFile(path)) out.push({ name, path });
  }
  return out;
}

/** A file at `rel` under `root`, if it is a regular file. */
export async function optionalFile(root: string, rel: string): Promise<string | undefined> {
  const p = join(root, rel);
  return (await isFile(p)) ? p : undefined;
}

export async function requiredFile(root: string, rel: string, component: string): Promise<string> {
  const p = await optionalFile(root, rel);
  if (!p) throw new Error(`${component}: the build output ${join(root, rel)} is missing`);
  return p;
}

/** Man pages in docs/: files named <name>.<section digit> (the .md sources are skipped). */
export async function manPages(root: string): Promise<ManPage[]> {
  return (await filesIn(join(root, 'docs')))
    .map((f) => ({ ...f, section: /\.([1-9])$/.exec(f.name)?.[1] ?? '' }))
    .filter((f) => f.section !== '');
}

/** completions/{bash,fish,zsh}/* */
export async function completions(root: string): Promise<Completion[]> {
  const out: Completion[] = [];
  for (const shell of ['bash', 'fish', 'zsh'] as const) {
    for (const f of await filesIn(join(root, 'completions', shell))) out.push({ ...f, shell });
  }
  return out;
}

/** Where Debian's shells look for completions shipped by packages. */
export const COMPLETION_DIRS: Record<Completion['shell'], string> = {
  bash: '/usr/share/bash-completion/completions',
  fish: '/usr/share/fish/vendor_completions.d',
  zsh: '/usr/share/zsh/vendor-completions',
};
