// Minimal writer for the common `ar` format as used by .deb (deb(5), ar(5)):
// an 8-byte global header, then per member a 60-byte text header and the
// data padded to an even length with "\n". dpkg only reads short member names
// (no GNU "/" terminator, no symbol table), so that is all this supports.
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';

export const AR_MAGIC = Buffer.from('!<arch>\n', 'latin1');
export const AR_HEADER_SIZE = 60;

export interface ArMember {
  name: string;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Octal file mode written in the header; dpkg-deb writes 100644. */
  mode?: number;
}

/** Encode one 60-byte member header; throws if a value does not fit its field. */
export function arMemberHeader(m: ArMember): Buffer {
  if (!/^[\x21-\x7e]{1,16}$/.test(m.name) || m.name.includes('/')) {
    throw new Error(`ar member name "${m.name}": 1 to 16 printable ASCII characters without "/" or spaces allowed`);
  }
  const mode = m.mode ?? 0o100644;
  const fields: Array<[string, number]> = [
    [m.name, 16],
    [String(m.mtime), 12],
    ['0', 6], // uid
    ['0', 6], // gid
    [mode.toString(8), 8],
    [String(m.size), 10],
  ];
  if (!Number.isSafeInteger(m.size) || m.size < 0) throw new Error(`ar member ${m.name}: bad size ${m.size}`);
  if (!Number.isSafeInteger(m.mtime) || m.mtime < 0) throw new Error(`ar member ${m.name}: bad mtime ${m.mtime}`);
  let text = '';
  for (const [value, width] of fields) {
    if (value.length > width) throw new Error(`ar member ${m.name}: "${value}" does not fit in ${width} characters`);
    text += value.padEnd(width, ' ');
  }
  text += '`\n';
  return Buffer.from(text, 'latin1');
}

/**
 * Sequential ar writer on an open file. Every byte goes through a SHA-256 so
 * the caller gets the digest of the finished archive without reading it back.
 */
export class ArWriter {
  private readonly hash: Hash = createHash('sha256');
  private written = 0;

  private constructor(private readonly fh: FileHandle) {}

  /** Starts the archive by writing the global header. */
  static async create(fh: FileHandle): Promise<ArWriter> {
    const w = new ArWriter(fh);
    await w.write(AR_MAGIC);
    return w;
  }

  get size(): number {
    return this.written;
  }

  digest(): string {
    return this.hash.digest('hex');
  }

  async addBuffer(name: string, data: Buffer, mtime: number): Promise<void> {
    await this.write(arMemberHeader({ name, size: data.length, mtime }));
    await this.write(data);
    await this.pad(data.length);
  }

  /** Copies a file's bytes into a member; the size comes from the open file
   * so a file that changes under us is detected rather than misframed. */
  async addFile(name: string, path: string, mtime: number): Promise<void> {
    const src = await open(path, 'r');
    try {
      const { size } = await src.stat();
      await this.write(arMemberHeader({ name, size, mtime }));
      const buf = Buffer.allocUnsafe(1 << 20);
      let copied = 0;
      while (copied < size) {
        const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, size - copied), copied);
        if (bytesRead === 0) throw new Error(`${path} shrank while being copied into the archive`);
        await this.write(buf.subarray(0, bytesRead));
        copied += bytesRead;
      }
      await this.pad(size);
    } finally {
      await src.close();
    }
  }

  private async pad(size: number): Promise<void> {
    if (size % 2 === 1) await this.write(Buffer.from('\n', 'latin1'));
  }

  private async write(buf: Buffer): Promise<void> {
    this.hash.update(buf);
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, this.written + off);
      off += bytesWritten;
    }
    this.written += buf.length;
  }
}

// ---- Reading ----------------------------------------------------------------------------------

/** One member as read back: its name and where its data lies in the file. */
export interface ArMemberHeader {
  name: string;
  size: number;
  dataOffset: number;
  /** The header's mtime, uid, gid, mode and size fields, as written, single-spaced. */
  fields: string;
}

/** Up to `length` bytes at `offset` (fewer at the end of the file). */
export async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/**
 * The member header `h` found at `offset` of an ar file of `fileSize` bytes, checked (its
 * terminator, a size inside the file); throws an Error saying what is wrong. The one parser of ar
 * headers: the apt index (index/apt/debfile.ts) and the SBOMs (sbom/archive-files.ts) walk .debs
 * with readArMemberAt, verify's member diff (verify/archive-diff.ts) with readArBuffer.
 */
export function parseArMemberHeader(h: Buffer, offset: number, fileSize: number): ArMemberHeader {
  if (h.length < AR_HEADER_SIZE || h.toString('latin1', 58, 60) !== '`\n') throw new Error(`no ar member header at byte ${offset}`);
  // GNU ar ends names with "/"; dpkg-deb does not. Accept both, as dpkg does.
  const name = h.toString('latin1', 0, 16).trimEnd().replace(/\/$/, '');
  const sizeText = h.toString('latin1', 48, 58).trim();
  const size = Number(sizeText);
  if (!/^[0-9]+$/.test(sizeText) || offset + AR_HEADER_SIZE + size > fileSize) throw new Error(`ar member ${name} has a bad size "${sizeText}"`);
  return { name, size, dataOffset: offset + AR_HEADER_SIZE, fields: h.toString('latin1', 16, 58).replace(/\s+/g, ' ').trim() };
}

/** The member header at `offset` of an open ar file (parseArMemberHeader). */
export async function readArMemberAt(fh: FileHandle, offset: number, fileSize: number): Promise<ArMemberHeader> {
  return parseArMemberHeader(await readAt(fh, offset, AR_HEADER_SIZE), offset, fileSize);
}

/** Every member of an ar archive held in memory, with its data; throws on a malformed header. */
export function readArBuffer(buf: Buffer): Array<ArMemberHeader & { data: Buffer }> {
  const out: Array<ArMemberHeader & { data: Buffer }> = [];
  for (let off = AR_MAGIC.length; off + AR_HEADER_SIZE <= buf.length; ) {
    const m = parseArMemberHeader(buf.subarray(off, off + AR_HEADER_SIZE), off, buf.length);
    out.push({ ...m, data: buf.subarray(m.dataOffset, m.dataOffset + m.size) });
    off = nextArMember(m);
  }
  return out;
}

/** Where the member after `m` starts (data padded to an even length). */
export function nextArMember(m: ArMemberHeader): number {
  return m.dataOffset + m.size + (m.size % 2);
}
