/**
 * Just enough ELF reading for packaging: is a file ELF, for which machine, is it dynamically linked,
 * does it still carry a symbol table. Used to refuse a binary of the wrong architecture before it
 * reaches a package, and to strip binaries the way dh_strip does. The same header, segment and
 * section decoding serves the SBOM (src/package/sbom/), which reads binaries held in memory.
 */
import { copyFile, mkdir, open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Arch } from '../../recipe/schema.js';
import { run, runText } from '../../core/run.js';

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

/** The fields of a 64-bit little-endian ELF header the readers here use. */
export interface ElfHeader {
  type: number;
  machine: number;
  phoff: number;
  shoff: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

/** Decodes the first 64 bytes of a file: undefined when it is not a 64-bit little-endian ELF file. */
export function decodeElfHeader(head: Buffer): ElfHeader | undefined {
  if (head.length < 64 || head.toString('latin1', 0, 4) !== '\x7fELF') return undefined;
  if (head[4] !== 2 || head[5] !== 1) return undefined; // ELFCLASS64, little endian
  return {
    type: head.readUInt16LE(16),
    machine: head.readUInt16LE(18),
    phoff: Number(head.readBigUInt64LE(32)),
    shoff: Number(head.readBigUInt64LE(40)),
    phentsize: head.readUInt16LE(54),
    phnum: head.readUInt16LE(56),
    shentsize: head.readUInt16LE(58),
    shnum: head.readUInt16LE(60),
    shstrndx: head.readUInt16LE(62),
  };
}

/** One program header (Elf64_Phdr). */
export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_GNU_RELRO = 0x6474e552;
export const PF_X = 1;
export const PF_W = 2;

export function decodeSegments(table: Buffer, h: Pick<ElfHeader, 'phnum' | 'phentsize'>): ElfSegment[] {
  const out: ElfSegment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = i * h.phentsize;
    out.push({
      type: table.readUInt32LE(o),
      flags: table.readUInt32LE(o + 4),
      offset: Number(table.readBigUInt64LE(o + 8)),
      vaddr: Number(table.readBigUInt64LE(o + 16)),
      filesz: Number(table.readBigUInt64LE(o + 32)),
      memsz: Number(table.readBigUInt64LE(o + 40)),
    });
  }
  return out;
}

/** One section header (Elf64_Shdr), with its name resolved when the string table is at hand. */
export interface ElfSection {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
}

export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;

export function decodeSections(table: Buffer, h: Pick<ElfHeader, 'shnum' | 'shentsize'>, names?: Buffer): ElfSection[] {
  const out: ElfSection[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const o = i * h.shentsize;
    const nameOff = table.readUInt32LE(o);
    let name = '';
    if (names && nameOff < names.length) {
      const end = names.indexOf(0, nameOff);
      name = names.toString('latin1', nameOff, end < 0 ? names.length : end);
    }
    out.push({ name, type: table.readUInt32LE(o + 4), addr: Number(table.readBigUInt64LE(o + 16)), offset: Number(table.readBigUInt64LE(o + 24)), size: Number(table.readBigUInt64LE(o + 32)) });
  }
  return out;
}

/** An ELF file held in memory: its segments and named sections, and reads by virtual address. */
export interface ElfImage {
  header: ElfHeader;
  segments: ElfSegment[];
  sections: ElfSection[];
  data: Buffer;
}

/** Reads the layout of an in-memory ELF file; undefined when it is not 64-bit little-endian ELF. */
export function elfImage(data: Buffer, where = 'ELF file'): ElfImage | undefined {
  const header = decodeElfHeader(data.subarray(0, 64));
  if (!header) return undefined;
  const slice = (off: number, len: number) => {
    if (off < 0 || len < 0 || off + len > data.length) throw new Error(`${where}: truncated ELF file`);
    return data.subarray(off, off + len);
  };
  const segments = header.phnum > 0 ? decodeSegments(slice(header.phoff, header.phentsize * header.phnum), header) : [];
  let sections: ElfSection[] = [];
  if (header.shnum > 0 && header.shoff > 0) {
    const table = slice(header.shoff, header.shentsize * header.shnum);
    const raw = decodeSections(table, header);
    const strtab = raw[header.shstrndx];
    const names = strtab && strtab.type !== SHT_NOBITS ? slice(strtab.offset, strtab.size) : undefined;
    sections = decodeSections(table, header, names);
  }
  return { header, segments, sections, data };
}

/**
 * `length` bytes at virtual address `vaddr`, from the PT_LOAD segment that maps it (bytes past a
 * segment's file size are zero in memory, so they are not read from the file).
 */
export function readVirtual(img: ElfImage, vaddr: number, length: number): Buffer | undefined {
  for (const s of img.segments) {
    if (s.type !== PT_LOAD || vaddr < s.vaddr || vaddr + length > s.vaddr + s.filesz) continue;
    const off = s.offset + (vaddr - s.vaddr);
    if (off + length > img.data.length) return undefined;
    return img.data.subarray(off, off + length);
  }
  return undefined;
}

/** ELF facts of a file, or undefined when it is not a 64-bit little-endian ELF file. */
export async function readElf(path: string): Promise<ElfInfo | undefined> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    const h = bytesRead < 64 ? undefined : decodeElfHeader(head);
    if (!h) return undefined;
    const readAt = async (off: number, len: number) => {
      if (off < 0 || len < 0 || off + len > size) throw new Error(`${path}: truncated ELF file`);
      const b = Buffer.alloc(len);
      await fh.read(b, 0, len, off);
      return b;
    };
    const segments = h.phnum > 0 ? decodeSegments(await readAt(h.phoff, h.phentsize * h.phnum), h) : [];
    const sections = h.shnum > 0 && h.shoff > 0 ? decodeSections(await readAt(h.shoff, h.shentsize * h.shnum), h) : [];
    return {
      machine: h.machine,
      dynamic: segments.some((s) => s.type === PT_INTERP),
      hasSymtab: sections.some((s) => s.type === SHT_SYMTAB),
      pie: h.type === 3,
      relro: segments.some((s) => s.type === PT_GNU_RELRO),
    };
  } finally {
    await fh.close();
  }
}

export function machineName(machine: number): string {
  return machine === 62 ? 'x86-64 (amd64)' : machine === 183 ? 'aarch64 (arm64)' : `machine ${machine}`;
}

/** BFD target names of the arches, as `strip --help` lists them. */
const BFD_TARGET: Record<Arch, string> = { amd64: 'elf64-x86-64', arm64: 'elf64-littleaarch64' };

/**
 * The strip to use for `arch` binaries: the cross one (binutils-<triplet>) if installed, else the
 * plain `strip` when it knows the target (the host's own arch, or binutils-multiarch).
 */
async function stripFor(arch: Arch): Promise<string | undefined> {
  const cross = `${GNU_TRIPLET[arch]}-strip`;
  if (await run(cross, ['--version']).then(() => true, () => false)) return cross;
  const help = await runText('strip', ['--help']).catch(() => '');
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
  await run(strip, ['--remove-section=.comment', '--remove-section=.note', out], { installHint: 'install binutils' });
  const after = await readElf(out);
  if (!after || after.machine !== elf.machine) throw new Error(`${strip} damaged ${out}`);
  return { path: out, elf: after, stripped: true };
}
