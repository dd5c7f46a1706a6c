/**
 * Just enough ELF reading for packaging: is a file ELF, for which machine, is it dynamically linked,
 * does it still carry a symbol table. Used to refuse a binary of the wrong architecture before it
 * reaches a package, and to strip binaries the way dh_strip does.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Arch } from '../../recipe/schema.js';

export const ELF_MACHINE: Record<Arch, number> = { amd64: 62, arm64: 183 };
const GNU_TRIPLET: Record<Arch, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

export interface ElfInfo {
  machine: number;
  /** Has a PT_INTERP program header: needs the dynamic loader. */
  dynamic: boolean;
  /** Has a .symtab section: not stripped. */
  hasSymtab: boolean;
  /** ET_DYN: a position-independent executable (or a shared object). */
  pie: boolean;
  /** Has a PT_GNU_RELRO program header. */
  relro: boolean;
}

/** ELF facts of a file, or undefined when it is not a 64-bit little-endian ELF file. */
export async function readElf(path: string): Promise<ElfInfo | undefined> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    if (bytesRead < 64 || head.toString('latin1', 0, 4) !== '\x7fELF') return undefined;
    if (head[4] !== 2 || head[5] !== 1) return undefined; // ELFCLASS64, little endian
    const type = head.readUInt16LE(16);
    const machine = head.readUInt16LE(18);
    const phoff = Number(head.readBigUInt64LE(32));
    const shoff = Number(head.readBigUInt64LE(40));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const shentsize = head.readUInt16LE(58);
    const shnum = head.readUInt16LE(60);
    const readAt = async (off: number, len: number) => {
      if (off < 0 || len < 0 || off + len > size) throw new Error(`${path}: truncated ELF file`);
      const b = Buffer.alloc(len);
      await fh.read(b, 0, len, off);
      return b;
    };
    let dynamic = false;
    let relro = false;
    if (phnum > 0) {
      const ph = await readAt(phoff, phentsize * phnum);
      for (let i = 0; i < phnum; i++) {
        const pType = ph.readUInt32LE(i * phentsize);
        if (pType === 3) dynamic = true; // PT_INTERP
        if (pType === 0x6474e552) relro = true; // PT_GNU_RELRO
      }
    }
    let hasSymtab = false;
    if (shnum > 0 && shoff > 0) {
      const sh = await readAt(shoff, shentsize * shnum);
      for (let i = 0; i < shnum; i++) if (sh.readUInt32LE(i * shentsize + 4) === 2) hasSymtab = true; // SHT_SYMTAB
    }
    return { machine, dynamic, hasSymtab, pie: type === 3, relro };
  } finally {
    await fh.close();
  }
}

export function machineName(machine: number): string {
  return machine === 62 ? 'x86-64 (amd64)' : machine === 183 ? 'aarch64 (arm64)' : `machine ${machine}`;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, _out, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ code, stderr });
    });
  });
}

/** BFD target names of the arches, as `strip --help` lists them. */
const BFD_TARGET: Record<Arch, string> = { amd64: 'elf64-x86-64', arm64: 'elf64-littleaarch64' };

/**
 * The strip to use for `arch` binaries: the cross one (binutils-<triplet>) if installed, else the
 * plain `strip` when it knows the target (the host's own arch, or binutils-multiarch).
 */
async function stripFor(arch: Arch): Promise<string | undefined> {
  const cross = `${GNU_TRIPLET[arch]}-strip`;
  if ((await run(cross, ['--version'])).code === 0) return cross;
  const help = await new Promise<string>((resolve) => {
    execFile('strip', ['--help'], { encoding: 'utf8' }, (err, out) => resolve(err ? '' : out));
  });
  const targets = /supported targets:(.*)$/m.exec(help)?.[1]?.split(/\s+/) ?? [];
  return targets.includes(BFD_TARGET[arch]) ? 'strip' : undefined;
}

export interface PreparedBinary {
  /** The file to package: the original, or a stripped copy under workDir. */
  path: string;
  elf: ElfInfo;
  stripped: boolean;
}

/**
 * Checks a binary is ELF for `arch`, and strips it into `workDir` when it still has a symbol table,
 * with dh_strip's options for executables. Without a strip for that arch it is packaged as is and
 * `warn` says so.
 */
export async function prepareBinary(path: string, arch: Arch, workDir: string, warn: (m: string) => void): Promise<PreparedBinary> {
  const elf = await readElf(path);
  if (!elf) throw new Error(`${path} is not an ELF executable`);
  if (elf.machine !== ELF_MACHINE[arch]) {
    throw new Error(`${path} is built for ${machineName(elf.machine)}, but the packages are for ${arch}`);
  }
  if (!elf.hasSymtab) return { path, elf, stripped: false };
  const strip = await stripFor(arch);
  if (!strip) {
    warn(`${basename(path)} is not stripped and no strip for ${arch} is installed (apt-get install binutils-${GNU_TRIPLET[arch].replace(/_/g, '-')}); packaged unstripped, which lintian reports as unstripped-binary-or-object`);
    return { path, elf, stripped: false };
  }
  await mkdir(workDir, { recursive: true });
  const out = join(workDir, basename(path));
  await copyFile(path, out);
  const r = await run(strip, ['--remove-section=.comment', '--remove-section=.note', out]);
  if (r.code !== 0) throw new Error(`${strip} ${out} failed: ${r.stderr.trim()}`);
  const after = await readElf(out);
  if (!after || after.machine !== elf.machine) throw new Error(`${strip} damaged ${out}`);
  return { path: out, elf: after, stripped: true };
}
