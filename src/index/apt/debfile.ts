// Reads what the index needs from a .deb without loading it: the ar headers and the small
// control.tar member are read at their offsets, and the whole file is streamed once through MD5
// and SHA-256. Formats: deb(5) (ar: debian-binary, then control.tar[.gz|.xz|.zst], then data).
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { InvalidInputError } from '../../core/errors.js';
import { AR_MAGIC, nextArMember, readArMemberAt, readAt, type ArMemberHeader } from '../../package/ar.js';
import { run, RunError } from '../../core/run.js';

/** control.tar holds metadata only; anything bigger is not a package we made or can trust. */
const MAX_CONTROL_TAR = 64 * 1024 * 1024;

export interface DebFacts {
  /** The DEBIAN/control paragraph as stored in the package. */
  control: string;
  size: number;
  md5: string;
  sha256: string;
}

function notADeb(path: string, why: string): InvalidInputError {
  return new InvalidInputError(`${path} is not a Debian binary package (.deb): ${why}`, 'give .deb files made by crio-build or dpkg-deb --build');
}


async function memberAt(fh: FileHandle, path: string, offset: number, fileSize: number): Promise<ArMemberHeader> {
  try {
    return await readArMemberAt(fh, offset, fileSize);
  } catch (err) {
    throw notADeb(path, (err as Error).message);
  }
}

async function decompress(path: string, name: string, data: Buffer): Promise<Buffer> {
  if (name === 'control.tar') return data;
  if (name === 'control.tar.gz') {
    try {
      return gunzipSync(data, { maxOutputLength: MAX_CONTROL_TAR });
    } catch (err) {
      throw notADeb(path, `control.tar.gz does not decompress (${(err as Error).message})`);
    }
  }
  const [cmd, hint] = name === 'control.tar.xz' ? ['xz', 'install xz-utils'] : ['zstd', 'install zstd'];
  const r = await run(cmd, ['--decompress', '--stdout'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdin: data, maxOutput: MAX_CONTROL_TAR, check: false, installHint: hint }).catch((err: Error) => {
    if (err instanceof RunError && err.reason === 'output-limit') throw notADeb(path, `${name} decompresses to more than ${MAX_CONTROL_TAR / (1024 * 1024)} MiB`);
    throw err;
  });
  if (r.code !== 0) throw notADeb(path, `${name} does not decompress (${r.stderr.trim()})`);
  return r.stdout;
}

/** The ./control entry of control.tar. */
async function controlFromTar(path: string, tarball: Buffer): Promise<string> {
  const extract = tar.extract();
  let control: string | undefined;
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      if (entry.header.type === 'file' && (entry.header.name === './control' || entry.header.name === 'control')) {
        control = Buffer.concat(chunks).toString('utf8');
      }
    }
  })();
  extract.end(tarball);
  try {
    await done;
  } catch (err) {
    throw notADeb(path, `control.tar is not a readable tar archive (${(err as Error).message})`);
  }
  if (control === undefined) throw notADeb(path, 'control.tar has no ./control file');
  return control;
}

async function hashFile(fh: FileHandle, path: string, size: number): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let seen = 0;
  for await (const chunk of fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 })) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
    seen += (chunk as Buffer).length;
  }
  if (seen !== size) throw new InvalidInputError(`${path} changed size while it was read (${size} -> ${seen} bytes); rerun when it is complete`);
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

/** Reads the control paragraph and the checksums of one .deb. */
export async function readDeb(path: string): Promise<DebFacts> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new InvalidInputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const { size } = await fh.stat();
    if (!(await readAt(fh, 0, 8)).equals(AR_MAGIC)) throw notADeb(path, 'it does not start with the ar signature "!<arch>"');
    const first = await memberAt(fh, path, 8, size);
    const binary = (await readAt(fh, first.dataOffset, Math.min(first.size, 16))).toString('latin1');
    if (first.name !== 'debian-binary' || !/^2\.\d+\n/.test(binary)) throw notADeb(path, 'the first member is not debian-binary with format 2.x');
    // deb(5): members whose names start with "_" may come before control.tar and are skipped.
    let member = await memberAt(fh, path, nextArMember(first), size);
    while (member.name.startsWith('_')) member = await memberAt(fh, path, nextArMember(member), size);
    if (!/^control\.tar(\.gz|\.xz|\.zst)?$/.test(member.name)) throw notADeb(path, `expected control.tar[.gz|.xz|.zst] after debian-binary, found "${member.name}"`);
    if (member.size > MAX_CONTROL_TAR) throw notADeb(path, `${member.name} is ${member.size} bytes (at most ${MAX_CONTROL_TAR} allowed)`);
    const control = await controlFromTar(path, await decompress(path, member.name, await readAt(fh, member.dataOffset, member.size)));
    return { control, size, ...(await hashFile(fh, path, size)) };
  } finally {
    await fh.close();
  }
}
