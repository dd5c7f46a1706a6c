/**
 * The source tree as a tar stream for putArchive: `git archive <commit>` of the cached repository,
 * re-rooted under the build directory and owned by the builder user (git archive says root, and the
 * unprivileged compile must be able to write into its own tree). Only files, directories and
 * symlinks are passed on; git archive makes nothing else. git itself refuses to archive a tree with
 * `..`, `.git` or absolute entries; a tree that repeats a name or puts entries under a symlink (a
 * hand-made hostile tree: `link -> /etc`, then `link/passwd`) is refused here.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract as tarExtract, pack as tarPack, type Header } from 'tar-stream';

type Headers = Partial<Header> & { name: string };
import { quote, SourceError } from '../core/errors.js';
import { start } from '../core/run.js';

export const BUILDER_UID = 1000;
export const BUILDER_GID = 1000;

export function sourceTar(repoPath: string, commit: string, prefix: string): Readable {
  const pack = tarPack();
  // git's output streams into the repacked tar; its exit status and stderr are read at the end.
  const git = start('git', ['-C', repoPath, 'archive', '--format=tar', commit], { stdout: 'pipe', check: false, installHint: 'install git' });
  const owner = { uid: BUILDER_UID, gid: BUILDER_GID, uname: 'builder', gname: 'builder' };

  const run = async () => {
    // The prefix directories themselves, so they too belong to the builder.
    const parts = prefix.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      await entry(pack, { name: parts.slice(0, i).join('/') + '/', type: 'directory', mode: 0o755, mtime: new Date(0), ...owner });
    }
    const ex = tarExtract();
    git.stdout!.pipe(ex);
    const seen = new Set<string>();
    const symlinks = new Set<string>();
    for await (const e of ex) {
      const h = e.header;
      const path = h.name.replace(/\/+$/, '');
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join('/');
        if (symlinks.has(parent)) throw new SourceError(`the source tree of ${commit} puts ${quote(h.name)} under the symlink ${quote(parent)}; refusing it`);
      }
      if (seen.has(path)) throw new SourceError(`the source tree of ${commit} has ${quote(h.name)} twice; refusing it`);
      seen.add(path);
      if (h.type === 'symlink') symlinks.add(path);
      const keep = h.type === 'file' || h.type === 'directory' || h.type === 'symlink';
      if (!keep) {
        e.resume();
        continue;
      }
      const name = posix.join(prefix, h.name) + (h.type === 'directory' ? '/' : '');
      const header: Headers = { name, type: h.type, mode: h.mode ?? 0o644, mtime: h.mtime, size: h.size, linkname: h.linkname || undefined, ...owner };
      if (h.type === 'file') {
        await new Promise<void>((res, rej) => {
          const sink = pack.entry(header, (err) => (err ? rej(err) : res()));
          e.pipe(sink);
        });
      } else {
        e.resume();
        await entry(pack, header);
      }
    }
    const { code, signal, stderr } = await git.done;
    if (code !== 0) throw new SourceError(`git archive ${commit} in ${repoPath} failed (exit ${code ?? signal}): ${stderr.trim()}`);
    pack.finalize();
  };
  run().catch((err) => {
    git.kill();
    pack.destroy(err as Error);
  });
  return pack as unknown as Readable;
}

function entry(pack: ReturnType<typeof tarPack>, header: Headers): Promise<void> {
  // Directories and symlinks have no body: the entry is complete as soon as it is added.
  return new Promise((res, rej) => {
    pack.entry(header, (err) => (err ? rej(err) : res()));
  });
}

/** A one-file tar (for generated files put back into the tree). */
export function singleFileTar(name: string, content: Buffer, mode = 0o644): Readable {
  const pack = tarPack();
  pack.entry({ name, mode, mtime: new Date(0), uid: BUILDER_UID, gid: BUILDER_GID, uname: 'builder', gname: 'builder' }, content, (err) => {
    if (err) pack.destroy(err);
    else pack.finalize();
  });
  return pack as unknown as Readable;
}
