/**
 * The build information the Go linker embeds in every Go executable (what `go version -m` prints),
 * read from the ELF bytes themselves: the Go version, and in module mode the main module and every
 * module compiled in, with its version and go.sum hash. This, not the source tree's go.mod or
 * vendor/, is what an SBOM must list: it is what was linked.
 *
 * The layout (Go's src/debug/buildinfo/buildinfo.go, which reads both forms):
 * - a 32-byte header, 16-byte aligned, in the .go.buildinfo section (or, in binaries without
 *   section headers, in the first writable PT_LOAD segment): the magic "\xff Go buildinf:" (14
 *   bytes), the pointer size (1 byte), and a flags byte: bit 0 big-endian, bit 1 "inline strings";
 * - Go >= 1.18 (flag bit 1 set): the version and the module info follow the header as two strings,
 *   each a uvarint length and the bytes;
 * - Go < 1.18 (go1.13.10, the recipes' toolchain): two pointers, at header offsets 16 and
 *   16 + pointer size, to Go string headers {data pointer, length} of runtime.buildVersion and
 *   runtime.modinfo; each virtual address is mapped to a file offset through the PT_LOAD segments.
 * The module info, when present, is wrapped in two 16-byte sentinels (cmd/go's infoStart and
 * infoEnd), which are cut off; without them the binary carries no module info.
 *
 * Binaries built in GOPATH mode (cri-o 1.13 to 1.15, cri-tools 1.13 to 1.15, the CNI plugins'
 * build_linux.sh with GO111MODULE=off) have no module list: `moduleMode` is false and `deps` empty,
 * and the SBOM says so rather than guessing one.
 */
import { elfImage, PF_W, PF_X, PT_LOAD, readVirtual, type ElfImage } from '../definitions/elf.js';

export const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const ALIGN = 16;
/** How far from the start of the data Go's reader looks for the header. */
const SEARCH_LIMIT = 64 * 1024;

export interface GoModule {
  path: string;
  version: string;
  /** The go.sum hash ("h1:..."), when the build recorded one (vendored builds record none). */
  sum?: string;
  /** What a `replace` directive put in its place: that is what was compiled. */
  replace?: GoModule;
}

export interface GoBuildInfo {
  /** The Go release that built it: "go1.13.10", "go1.19.8". */
  goVersion: string;
  /** The header's form: 'inline' (Go >= 1.18) or 'pointers' (Go < 1.18). */
  format: 'inline' | 'pointers';
  /** False when the binary has no module info (a GOPATH-mode build, or modules off). */
  moduleMode: boolean;
  /** The main package's import path ("github.com/cri-o/cri-o/cmd/crio"), when recorded. */
  path?: string;
  /** The main module; its version is "(devel)" for a build from a source tree. */
  main?: GoModule;
  /** Every other module compiled in, in the order the binary lists them. */
  deps: GoModule[];
  /** Build settings (Go >= 1.18): ["-compiler", "gc"], ["CGO_ENABLED", "1"], ... */
  settings: Array<[string, string]>;
}

export class GoBuildInfoError extends Error {}

/** The build info of a Go executable, or undefined when `data` is not ELF or was not built by Go. */
export function readGoBuildInfo(data: Buffer, where = 'binary'): GoBuildInfo | undefined {
  const img = elfImage(data, where);
  if (!img) return undefined;
  const region = buildInfoRegion(img);
  if (!region) return undefined;
  const at = findHeader(region);
  if (at < 0) return undefined;
  const header = region.subarray(at);
  const ptrSize = header[14] as number;
  const flags = header[15] as number;
  let goVersion: string;
  let modinfo: Buffer;
  let format: GoBuildInfo['format'];
  if (flags & 2) {
    format = 'inline';
    const v = readVarintString(header, HEADER_SIZE, where);
    const m = readVarintString(header, v.next, where);
    goVersion = v.value.toString('utf8');
    modinfo = m.value;
  } else {
    format = 'pointers';
    if (ptrSize !== 8 && ptrSize !== 4) throw new GoBuildInfoError(`${where}: Go build info has pointer size ${ptrSize} (expected 4 or 8)`);
    if (flags & 1) throw new GoBuildInfoError(`${where}: big-endian Go build info in a little-endian ELF file`);
    goVersion = readGoString(img, readPointer(header, 16, ptrSize), ptrSize, where).toString('utf8');
    modinfo = readGoString(img, readPointer(header, 16 + ptrSize, ptrSize), ptrSize, where);
  }
  if (goVersion === '') return undefined;
  return { goVersion, format, ...parseModInfo(stripSentinels(modinfo).toString('utf8')) };
}

/** Where the header lives: the .go.buildinfo section, else the first writable, non-executable PT_LOAD segment. */
function buildInfoRegion(img: ElfImage): Buffer | undefined {
  const section = img.sections.find((s) => s.name === '.go.buildinfo');
  if (section && section.offset + section.size <= img.data.length) return img.data.subarray(section.offset, section.offset + section.size);
  const seg = img.segments.find((s) => s.type === PT_LOAD && (s.flags & (PF_X | PF_W)) === PF_W);
  if (!seg) return undefined;
  return img.data.subarray(seg.offset, Math.min(seg.offset + seg.filesz, seg.offset + SEARCH_LIMIT, img.data.length));
}

/** The first 16-byte aligned magic with a whole header after it, as Go's reader finds it. */
function findHeader(region: Buffer): number {
  let from = 0;
  for (;;) {
    const i = region.indexOf(BUILDINFO_MAGIC, from);
    if (i < 0 || region.length - i < HEADER_SIZE) return -1;
    if (i % ALIGN === 0) return i;
    from = i + 1;
  }
}

function readVarintString(buf: Buffer, offset: number, where: string): { value: Buffer; next: number } {
  let len = 0;
  let shift = 0;
  let i = offset;
  for (;;) {
    if (i >= buf.length || shift > 35) throw new GoBuildInfoError(`${where}: Go build info: bad string length at byte ${offset}`);
    const b = buf[i++] as number;
    len += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  if (i + len > buf.length) throw new GoBuildInfoError(`${where}: Go build info: a string of ${len} bytes runs past the end of the data`);
  return { value: buf.subarray(i, i + len), next: i + len };
}

function readPointer(buf: Buffer, offset: number, ptrSize: number): number {
  return ptrSize === 8 ? Number(buf.readBigUInt64LE(offset)) : buf.readUInt32LE(offset);
}

/** A Go string header {data, len} at `vaddr`, and the bytes it points to. */
function readGoString(img: ElfImage, vaddr: number, ptrSize: number, where: string): Buffer {
  const hdr = readVirtual(img, vaddr, 2 * ptrSize);
  if (!hdr) throw new GoBuildInfoError(`${where}: Go build info points to address 0x${vaddr.toString(16)}, which no PT_LOAD segment maps from the file`);
  const data = readPointer(hdr, 0, ptrSize);
  const len = readPointer(hdr, ptrSize, ptrSize);
  if (len === 0) return Buffer.alloc(0);
  if (len > img.data.length) throw new GoBuildInfoError(`${where}: Go build info string of ${len} bytes is longer than the file`);
  const bytes = readVirtual(img, data, len);
  if (!bytes) throw new GoBuildInfoError(`${where}: Go build info string at 0x${data.toString(16)} (${len} bytes) is not mapped from the file`);
  return bytes;
}

/**
 * cmd/go frames the module info with 16-byte sentinels (binary, not UTF-8: cut as bytes); without
 * them there is none.
 */
export function stripSentinels(mod: Buffer): Buffer {
  // Go's check: at least 33 bytes, and a newline 17 bytes from the end (the last line's end).
  if (mod.length >= 33 && mod[mod.length - 17] === 0x0a) return mod.subarray(16, mod.length - 16);
  return Buffer.alloc(0);
}

/**
 * Parses the module info text (runtime/debug.BuildInfo's String form): tab-separated lines
 * "path", "mod", "dep", "=>" (replaces the line before), "build" (Go >= 1.18).
 */
export function parseModInfo(text: string): Omit<GoBuildInfo, 'goVersion' | 'format'> {
  const out: Omit<GoBuildInfo, 'goVersion' | 'format'> = { moduleMode: false, deps: [], settings: [] };
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [kind, ...rest] = line.split('\t');
    const mod = (): GoModule => {
      const [path = '', version = '', sum = ''] = rest;
      return { path, version, ...(sum ? { sum } : {}) };
    };
    switch (kind) {
      case 'path':
        out.path = rest.join('\t');
        break;
      case 'mod':
        out.main = last = mod();
        out.moduleMode = true;
        break;
      case 'dep':
        last = mod();
        out.deps.push(last);
        break;
      case '=>':
        if (last) last.replace = mod();
        break;
      case 'build': {
        const kv = rest.join('\t');
        const eq = kv.indexOf('=');
        out.settings.push(eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)]);
        break;
      }
      default:
        break;
    }
  }
  return out;
}
