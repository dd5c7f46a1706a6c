// Turns the flat PackageFile list into the ordered entry list of data.tar:
// every parent directory implied by a path is emitted once, before its
// children, and siblings are sorted bytewise by name (walking the tree in that
// order equals comparing paths component by component, like `tar
// --sort=name`). As dpkg-deb --build does, symlinks then follow all other
// entries, in the same order, so a link never precedes its target on
// extraction. Nothing depends on the input order or on a file system, so the
// archive is reproducible, and its listing equals dpkg-deb's for the same tree.
import type { PackageFile } from '../packager.js';
import { byteOrder } from '../../core/order.js';

export type TreeEntry =
  | { kind: 'dir'; tarPath: string; mode: number }
  | {
      kind: 'file';
      tarPath: string;
      /** Undefined: derived from the source file's execute bits. */
      mode: number | undefined;
      source?: string;
      content?: Buffer;
      conffile: boolean;
    }
  | { kind: 'symlink'; tarPath: string; target: string };

interface Node {
  children: Map<string, Node>;
  file?: PackageFile;
}

function fail(file: PackageFile, why: string): never {
  throw new Error(`package file ${JSON.stringify(file.path)}: ${why}`);
}

function components(file: PackageFile): string[] {
  const p = file.path;
  if (!p.startsWith('/')) fail(file, 'path must be absolute (start with "/")');
  // Newlines would corrupt md5sums and conffiles, which are line based.
  if (/[\x00-\x1f\x7f]/.test(p)) fail(file, 'path must not contain control characters');
  const parts = p.slice(1).replace(/\/$/, '').split('/');
  if (parts.length === 1 && parts[0] === '') fail(file, 'the root directory cannot be a package file');
  for (const c of parts) {
    if (c === '' || c === '.' || c === '..') fail(file, 'path must be normalized (no "//", "." or ".." components)');
  }
  return parts;
}

function checkShape(file: PackageFile): void {
  const kinds = [file.source !== undefined, file.content !== undefined, file.symlink !== undefined, file.directory === true];
  if (kinds.filter(Boolean).length !== 1) {
    fail(file, 'give exactly one of source, content, symlink or directory: true');
  }
  if (file.mode !== undefined && (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o7777)) {
    fail(file, `mode ${file.mode} is not a permission value (0 to 0o7777)`);
  }
  if (file.conffile && (file.source === undefined && file.content === undefined)) {
    fail(file, 'only regular files can be conffiles');
  }
  if (file.symlink !== undefined && (file.symlink === '' || /[\x00\n]/.test(file.symlink))) {
    fail(file, 'symlink target must be non-empty and contain no NUL or newline');
  }
}


/** Validates the files and returns the data.tar entries, starting with "./". */
export function planTree(files: readonly PackageFile[]): TreeEntry[] {
  const root: Node = { children: new Map() };
  for (const file of files) {
    checkShape(file);
    const parts = components(file);
    let node = root;
    for (const [i, name] of parts.entries()) {
      let child = node.children.get(name);
      if (!child) {
        child = { children: new Map() };
        node.children.set(name, child);
      }
      if (i < parts.length - 1 && child.file && !child.file.directory) {
        fail(file, `its parent ${JSON.stringify(child.file.path)} is not a directory`);
      }
      node = child;
    }
    if (node.file) fail(file, 'listed twice');
    if (!file.directory && node.children.size > 0) fail(file, 'is a parent of other entries, so it must be a directory');
    node.file = file;
  }

  const out: TreeEntry[] = [{ kind: 'dir', tarPath: './', mode: 0o755 }];
  const links: TreeEntry[] = [];
  const walk = (node: Node, prefix: string): void => {
    for (const name of [...node.children.keys()].sort(byteOrder)) {
      const child = node.children.get(name) as Node;
      const f = child.file;
      const path = prefix + name;
      if (!f || f.directory) {
        out.push({ kind: 'dir', tarPath: `${path}/`, mode: f?.mode ?? 0o755 });
        walk(child, `${path}/`);
      } else if (f.symlink !== undefined) {
        links.push({ kind: 'symlink', tarPath: path, target: f.symlink });
      } else {
        const content = f.content === undefined ? undefined : Buffer.from(f.content);
        const mode = f.mode ?? (content ? 0o644 : undefined);
        out.push({ kind: 'file', tarPath: path, mode, conffile: f.conffile === true, ...(content ? { content } : { source: f.source as string }) });
      }
    }
  };
  walk(root, './');
  return [...out, ...links];
}

/** "./usr/bin/crio" -> "/usr/bin/crio" (conffiles) */
export function absolutePath(tarPath: string): string {
  return tarPath.slice(1);
}

/** "./usr/bin/crio" -> "usr/bin/crio" (md5sums) */
export function relativePath(tarPath: string): string {
  return tarPath.slice(2);
}
