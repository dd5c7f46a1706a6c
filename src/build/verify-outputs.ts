/**
 * Checks on what came out of a build, before anything is packaged:
 *  - each binary's ELF header names the target machine (a cross build that silently produced host
 *    binaries, or a prebuilt blob in the tree, is caught here);
 *  - each main binary runs and prints its version. Foreign binaries run through qemu: they are put
 *    into a throwaway container of the builder image used for the build, which has the target's
 *    shared libraries (the target userland for emulate; Debian multiarch :<arch> libraries and
 *    loader for cross), with networking off. binfmt_misc (F flag) hands them to qemu there.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pack as tarPack } from 'tar-stream';
import type { Readable } from 'node:stream';
import { CrioBuildError, ExitCode } from '../core/errors.js';
import { sha256File } from '../core/hash.js';
import type { Arch, OutputSpec } from '../recipe/schema.js';
import { removeContainer, startContainer } from '../hosts/containers.js';
import { defaultRunId, labelsFor, type DockerDriver } from '../hosts/docker.js';
import { execArgv, ExecTimeoutError } from '../hosts/exec.js';
import { checkBinfmt } from '../hosts/qemu.js';
import type { BuiltOutput } from '../plan/build-job.js';

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const ELF_MACHINE: Record<Arch, number> = { amd64: EM_X86_64, arm64: EM_AARCH64 };

export class VerifyError extends CrioBuildError {
  constructor(message: string) {
    super(message, ExitCode.jobFailed);
  }
}

/** e_machine from the first 20 bytes of a 64-bit little-endian ELF file; undefined if it is not one. */
export function elfMachine(header: Buffer): number | undefined {
  if (header.length < 20) return undefined;
  if (header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return undefined;
  if (header[4] !== 2 /* ELFCLASS64 */ || header[5] !== 1 /* ELFDATA2LSB */) return undefined;
  return header.readUInt16LE(18);
}

export async function checkElf(file: string, arch: Arch): Promise<void> {
  const fh = await open(file, 'r');
  const buf = Buffer.alloc(20);
  try {
    await fh.read(buf, 0, 20, 0);
  } finally {
    await fh.close();
  }
  const m = elfMachine(buf);
  if (m === undefined) throw new VerifyError(`${file} is not a 64-bit little-endian ELF binary`);
  if (m !== ELF_MACHINE[arch]) {
    const name = m === EM_X86_64 ? 'x86-64' : m === EM_AARCH64 ? 'aarch64' : `machine ${m}`;
    throw new VerifyError(`${file} is built for ${name}, expected ${arch} (e_machine ${ELF_MACHINE[arch]})`);
  }
}

/** Regular files of an output (the file itself, or every regular file under a directory). */
export async function outputFiles(outDir: string, rel: string): Promise<string[]> {
  const st = await lstat(join(outDir, rel)).catch(() => undefined);
  if (!st) return [];
  if (st.isFile()) return [rel];
  if (!st.isDirectory()) return [];
  const out: string[] = [];
  for (const ent of (await readdir(join(outDir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = posix.join(rel, ent.name);
    if (ent.isDirectory()) out.push(...(await outputFiles(outDir, child)));
    else if (ent.isFile()) out.push(child);
  }
  return out;
}

export interface VerifyOptions {
  /** Image to run the version checks in (the builder image of the build). */
  image: string;
  /** The image's platform. */
  platform: Arch;
  /** The target arch the binaries must be for. */
  arch: Arch;
  hostArch: Arch;
  outDir: string;
  outputs: OutputSpec[];
  runId?: string;
  /** Lines of the version runs, for the job log. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

/** ELF-check every binary, hash every file, and run the binaries that declare versionArgs. */
export async function verifyOutputs(driver: DockerDriver, opts: VerifyOptions): Promise<BuiltOutput[]> {
  const result: BuiltOutput[] = [];
  const toRun: { built: BuiltOutput; args: string[] }[] = [];
  for (const spec of opts.outputs) {
    for (const rel of await outputFiles(opts.outDir, spec.path)) {
      const abs = join(opts.outDir, rel);
      if (spec.type === 'binary') await checkElf(abs, opts.arch);
      const built: BuiltOutput = { path: rel, type: spec.type, sha256: await sha256File(abs) };
      result.push(built);
      if (spec.type === 'binary' && spec.versionArgs) toRun.push({ built, args: spec.versionArgs });
    }
  }
  if (toRun.length > 0) await runVersions(driver, opts, toRun);
  return result;
}

async function runVersions(driver: DockerDriver, opts: VerifyOptions, toRun: { built: BuiltOutput; args: string[] }[]): Promise<void> {
  await checkBinfmt(opts.arch, opts.hostArch);
  const container = await startContainer(driver, {
    Image: opts.image,
    platform: `linux/${opts.platform}`,
    Cmd: ['/bin/sleep', 'infinity'],
    User: 'builder',
    WorkingDir: '/tmp',
    Labels: labelsFor('verify', opts.runId ?? defaultRunId),
    HostConfig: { NetworkMode: 'none', Init: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
  });
  try {
    await container.putArchive(binariesTar(opts.outDir, toRun.map((t) => t.built.path)) as unknown as NodeJS.ReadableStream, { path: '/tmp' });
    for (const { built, args } of toRun) {
      const argv = [`/tmp/verify/${built.path}`, ...args];
      let text = '';
      const grab = (c: Buffer) => {
        if (text.length < 4096) text += c.toString('utf8');
      };
      opts.onLine?.(`$ ${[built.path, ...args].join(' ')}`);
      let code: number;
      try {
        code = await execArgv(container, argv, { user: 'builder', onStdout: grab, onStderr: grab, timeoutMs: opts.timeoutMs ?? 60_000 });
      } catch (err) {
        if (err instanceof ExecTimeoutError) throw new VerifyError(`${built.path} ${args.join(' ')}: ${err.message}`);
        throw err;
      }
      for (const l of text.trimEnd().split('\n')) opts.onLine?.(l);
      if (code !== 0) throw new VerifyError(`${built.path} ${args.join(' ')} exited ${code} on ${opts.arch}:\n${text.trim()}`);
      built.versionOutput = text.trim();
    }
  } finally {
    await removeContainer(container);
  }
}

function binariesTar(outDir: string, files: string[]): Readable {
  const pack = tarPack();
  (async () => {
    const dirs = new Set<string>();
    for (const rel of files) {
      const parts = posix.join('verify', rel).split('/');
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (dirs.has(d)) continue;
        dirs.add(d);
        await new Promise<void>((res, rej) => {
          pack.entry({ name: d + '/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 }, (e) => (e ? rej(e) : res()));
        });
      }
      const st = await lstat(join(outDir, rel));
      await new Promise<void>((res, rej) => {
        const sink = pack.entry({ name: posix.join('verify', rel), size: st.size, mode: 0o755, uid: 1000, gid: 1000 }, (e) => (e ? rej(e) : res()));
        createReadStream(join(outDir, rel)).pipe(sink as unknown as NodeJS.WritableStream);
      });
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}
