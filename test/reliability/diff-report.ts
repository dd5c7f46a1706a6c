/**
 * "What differs" between two builds' outputs, as a list the test can assert empty (and print as
 * the assertion message). It looks inside what it knows, down to the innermost differing piece:
 *
 *   .deb          ar members (name, order, header fields), then each member
 *   .tar(.gz/.xz) entries (name, order, type, mode, owner, mtime, size, link target, sha256), then
 *                 each differing entry's content; a compressed stream whose content is equal but
 *                 whose bytes are not is reported as a compression difference (gzip header fields)
 *   ELF           first differing offset, Go and GNU build ids, printable strings only in one side
 *                 (timestamps and build paths show up there), and diffoscope's report when it is
 *                 installed (it is not installed by the test: it is large); the pair is saved for it
 *   JSON          the paths of differing values
 *   text          the first differing line of each side
 *
 * The caller gives normalizers for files that differ by design (a Release's Date, a manifest's
 * packagedAt); the report never hides a difference silently: every rule is the caller's.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface Difference {
  /** The file, and the members inside it: "packages/cri-o_1.18.1-1_arm64.deb > data.tar.xz > ./usr/bin/crio". */
  where: string;
  what: string;
}

/** A file's bytes made comparable: parts that differ by design removed (each rule says why, at the caller). */
export type Normalizer = (content: Buffer) => Buffer;

export interface CompareOptions {
  /** Normalizers by path relative to the compared roots (exact match), or by a test on the path. */
  normalize?: Array<{ match: (rel: string) => boolean; apply: Normalizer; why: string }>;
  /** Paths (relative) left out of the comparison; each with its reason. */
  skip?: Array<{ match: (rel: string) => boolean; why: string }>;
  /** Where differing innermost pieces are saved for diffoscope or a look by hand; a fresh temp dir when absent. */
  saveDir?: string;
}

const MAX_TEXT = 300;

export function formatReport(diffs: readonly Difference[]): string {
  if (diffs.length === 0) return 'no differences';
  const lines = [`${diffs.length} difference(s):`];
  for (const d of diffs) lines.push(`- ${d.where}\n    ${d.what.split('\n').join('\n    ')}`);
  if (!diffoscopePath()) lines.push('(diffoscope is not installed: `apt-get install diffoscope` and run it on the saved pairs named above for a full report)');
  return lines.join('\n');
}

/** Every file under two roots: missing on either side, then each pair that differs. */
export async function compareDirs(a: string, b: string, opts: CompareOptions = {}): Promise<Difference[]> {
  const [la, lb] = await Promise.all([listFiles(a), listFiles(b)]);
  const skipped = (rel: string) => opts.skip?.some((s) => s.match(rel)) ?? false;
  const diffs: Difference[] = [];
  const sb = new Set(lb);
  const sa = new Set(la);
  for (const rel of la) if (!sb.has(rel) && !skipped(rel)) diffs.push({ where: rel, what: `only in the first tree (${a})` });
  for (const rel of lb) if (!sa.has(rel) && !skipped(rel)) diffs.push({ where: rel, what: `only in the second tree (${b})` });
  for (const rel of la) {
    if (!sb.has(rel) || skipped(rel)) continue;
    diffs.push(...(await compareFiles(join(a, rel), join(b, rel), rel, opts)));
  }
  return diffs;
}

/** One pair of files; `label` names it in the report. */
export async function compareFiles(a: string, b: string, label: string, opts: CompareOptions = {}): Promise<Difference[]> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  const diffs: Difference[] = [];
  if ((sa.mode & 0o777) !== (sb.mode & 0o777)) diffs.push({ where: label, what: `file mode ${octal(sa.mode & 0o777)} vs ${octal(sb.mode & 0o777)}` });
  let [ba, bb]: [Buffer, Buffer] = await Promise.all([readFile(a), readFile(b)]);
  for (const n of opts.normalize ?? []) {
    if (!n.match(label)) continue;
    ba = n.apply(ba);
    bb = n.apply(bb);
  }
  if (ba.equals(bb)) return diffs;
  const ctx = new Ctx(opts.saveDir);
  const inner = await compareBytes(label, basenameOf(label), ba, bb, ctx);
  if (inner.length === 0) inner.push({ where: label, what: `bytes differ (${describeBytes(ba, bb)}) though every part this report reads is equal` });
  const scope = diffoscopePath();
  if (scope && !(opts.normalize ?? []).some((n) => n.match(label))) {
    const out = runDiffoscope(scope, a, b);
    if (out) inner.push({ where: label, what: `diffoscope ${a} ${b}:\n${out}` });
  }
  return [...diffs, ...inner];
}

/** Content comparison by kind; both sides already differ. */
export async function compareBytes(where: string, name: string, a: Buffer, b: Buffer, ctx = new Ctx()): Promise<Difference[]> {
  if (a.equals(b)) return [];
  if (isAr(a) && isAr(b)) return compareAr(where, a, b, ctx);
  if (isGzip(a) && isGzip(b)) return compareCompressed(where, name, a, b, 'gzip', ctx);
  if (isXz(a) && isXz(b)) return compareCompressed(where, name, a, b, 'xz', ctx);
  if (isTar(a) && isTar(b)) return compareTar(where, a, b, ctx);
  if (isElf(a) && isElf(b)) return compareElf(where, name, a, b, ctx);
  if (name.endsWith('.json') && isText(a) && isText(b)) {
    const j = compareJson(where, a, b);
    if (j) return j;
  }
  if (isText(a) && isText(b)) return [{ where, what: textDifference(a.toString('utf8'), b.toString('utf8')) }];
  const saved = ctx.save(where, a, b);
  return [{ where, what: `binary content differs (${describeBytes(a, b)}); saved as ${saved}` }];
}

// ---- ar (.deb) ---------------------------------------------------------------------------------

interface ArEntry {
  name: string;
  header: { mtime: string; uid: string; gid: string; mode: string; size: number };
  data: Buffer;
}

export function readAr(buf: Buffer): ArEntry[] {
  if (!isAr(buf)) throw new Error('not an ar archive');
  const out: ArEntry[] = [];
  let off = 8;
  while (off + 60 <= buf.length) {
    const h = buf.subarray(off, off + 60).toString('latin1');
    const name = h.slice(0, 16).trim().replace(/\/$/, '');
    const size = Number(h.slice(48, 58).trim());
    const data = buf.subarray(off + 60, off + 60 + size);
    out.push({ name, header: { mtime: h.slice(16, 28).trim(), uid: h.slice(28, 34).trim(), gid: h.slice(34, 40).trim(), mode: h.slice(40, 48).trim(), size }, data });
    off += 60 + size + (size % 2);
  }
  return out;
}

async function compareAr(where: string, a: Buffer, b: Buffer, ctx: Ctx): Promise<Difference[]> {
  const ea = readAr(a);
  const eb = readAr(b);
  const diffs: Difference[] = [];
  const na = ea.map((e) => e.name);
  const nb = eb.map((e) => e.name);
  if (na.join('\0') !== nb.join('\0')) diffs.push({ where, what: `ar members ${na.join(', ')} vs ${nb.join(', ')}` });
  for (const x of ea) {
    const y = eb.find((e) => e.name === x.name);
    if (!y) continue;
    const w = `${where} > ${x.name}`;
    for (const k of ['mtime', 'uid', 'gid', 'mode', 'size'] as const) {
      if (x.header[k] !== y.header[k]) diffs.push({ where: w, what: `ar header ${k} ${x.header[k]} vs ${y.header[k]}` });
    }
    diffs.push(...(await compareBytes(w, x.name, x.data, y.data, ctx)));
  }
  return diffs;
}

// ---- compressed streams ------------------------------------------------------------------------

async function compareCompressed(where: string, name: string, a: Buffer, b: Buffer, kind: 'gzip' | 'xz', ctx: Ctx): Promise<Difference[]> {
  const [ua, ub] = await Promise.all([decompress(a, kind), decompress(b, kind)]);
  const inner = name.replace(/\.(gz|xz)$/, '');
  if (ua.equals(ub)) {
    const header = kind === 'gzip' ? gzipHeaderDifference(a, b) : '';
    return [{ where, what: `the ${kind} streams differ but decompress to the same ${ua.length} bytes (compressor settings or header${header ? `: ${header}` : ''})` }];
  }
  return compareBytes(`${where} (${kind === 'gzip' ? 'gunzip' : 'unxz'})`, inner, ua, ub, ctx);
}

function gzipHeaderDifference(a: Buffer, b: Buffer): string {
  const f = (x: Buffer) => ({ flags: x[3], mtime: x.readUInt32LE(4), xfl: x[8], os: x[9] });
  const ha = f(a);
  const hb = f(b);
  return (Object.keys(ha) as Array<keyof typeof ha>).filter((k) => ha[k] !== hb[k]).map((k) => `${k} ${ha[k]} vs ${hb[k]}`).join(', ');
}

function decompress(buf: Buffer, kind: 'gzip' | 'xz'): Promise<Buffer> {
  if (kind === 'gzip') return Promise.resolve(gunzipSync(buf));
  return new Promise((resolve, reject) => {
    const child = execFile('xz', ['-dc'], { encoding: 'buffer', maxBuffer: 2 ** 30 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin?.end(buf);
  });
}

// ---- tar ---------------------------------------------------------------------------------------

interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  size: number;
  linkname: string;
  pax: string;
  content: Buffer;
}

export async function readTar(buf: Buffer): Promise<TarEntry[]> {
  const ex = tar.extract();
  const out: TarEntry[] = [];
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out.push({
        name: h.name,
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        uname: h.uname ?? '',
        gname: h.gname ?? '',
        mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0,
        size: h.size ?? 0,
        linkname: h.linkname ?? '',
        pax: h.pax ? JSON.stringify(h.pax) : '',
        content: Buffer.concat(chunks),
      });
    }
  })();
  ex.end(buf);
  await done;
  return out;
}

async function compareTar(where: string, a: Buffer, b: Buffer, ctx: Ctx): Promise<Difference[]> {
  const [ta, tb] = await Promise.all([readTar(a), readTar(b)]);
  const diffs: Difference[] = [];
  const na = ta.map((e) => e.name);
  const nb = tb.map((e) => e.name);
  const mb = new Map(tb.map((e) => [e.name, e]));
  const ma = new Map(ta.map((e) => [e.name, e]));
  const onlyA = na.filter((n) => !mb.has(n));
  const onlyB = nb.filter((n) => !ma.has(n));
  if (onlyA.length) diffs.push({ where, what: `entries only in the first: ${onlyA.join(', ')}` });
  if (onlyB.length) diffs.push({ where, what: `entries only in the second: ${onlyB.join(', ')}` });
  const commonA = na.filter((n) => mb.has(n));
  const commonB = nb.filter((n) => ma.has(n));
  if (commonA.join('\0') !== commonB.join('\0')) {
    const i = commonA.findIndex((n, k) => commonB[k] !== n);
    diffs.push({ where, what: `entry order differs from position ${i}: ${commonA.slice(i, i + 3).join(', ')} vs ${commonB.slice(i, i + 3).join(', ')}` });
  }
  for (const x of ta) {
    const y = mb.get(x.name);
    if (!y) continue;
    const w = `${where} > ${x.name}`;
    const fields: Array<[string, unknown, unknown]> = [
      ['type', x.type, y.type],
      ['mode', octal(x.mode), octal(y.mode)],
      ['uid', x.uid, y.uid],
      ['gid', x.gid, y.gid],
      ['uname', x.uname, y.uname],
      ['gname', x.gname, y.gname],
      ['mtime', `${x.mtime} (${iso(x.mtime)})`, `${y.mtime} (${iso(y.mtime)})`],
      ['size', x.size, y.size],
      ['link target', x.linkname, y.linkname],
      ['pax records', x.pax, y.pax],
    ];
    for (const [k, va, vb] of fields) if (va !== vb) diffs.push({ where: w, what: `${k} ${String(va)} vs ${String(vb)}` });
    if (!x.content.equals(y.content)) {
      // The sha256 prefixes, with what the content comparison finds inside.
      const inner = await compareBytes(w, posix.basename(x.name), x.content, y.content, ctx);
      const shas = `content differs: sha256 ${sha(x.content)}… vs ${sha(y.content)}…`;
      if (inner[0]?.where === w) inner[0] = { where: w, what: `${shas}; ${inner[0].what}` };
      else inner.unshift({ where: w, what: shas });
      diffs.push(...inner);
    }
  }
  if (diffs.length === 0) diffs.push({ where, what: `tar bytes differ (${describeBytes(a, b)}) though every entry's name, order, fields and content are equal (header encoding or padding)` });
  return diffs;
}

// ---- ELF -------------------------------------------------------------------------------------------

async function compareElf(where: string, name: string, a: Buffer, b: Buffer, ctx: Ctx): Promise<Difference[]> {
  const lines = [`ELF binary differs (${describeBytes(a, b)})`];
  const ga = goBuildId(a);
  const gb = goBuildId(b);
  if (ga !== gb) lines.push(`Go build id: ${ga ?? '(none)'} vs ${gb ?? '(none)'}`);
  else if (ga !== undefined) lines.push(`Go build id equal: ${ga || '(empty)'}`);
  const na = gnuBuildId(a);
  const nb = gnuBuildId(b);
  if (na !== nb) lines.push(`GNU build-id: ${na ?? '(none)'} vs ${nb ?? '(none)'}`);
  const [sa, sb] = [printableStrings(a), printableStrings(b)];
  const onlyA = [...sa].filter((s) => !sb.has(s));
  const onlyB = [...sb].filter((s) => !sa.has(s));
  if (onlyA.length || onlyB.length) {
    lines.push(`strings only in the first (${onlyA.length}): ${onlyA.slice(0, 8).map((s) => JSON.stringify(s.slice(0, 120))).join(' ')}`);
    lines.push(`strings only in the second (${onlyB.length}): ${onlyB.slice(0, 8).map((s) => JSON.stringify(s.slice(0, 120))).join(' ')}`);
  } else lines.push('no printable string (6+ characters) is only in one side: code or data layout differs');
  const saved = ctx.save(where, a, b, name);
  const scope = diffoscopePath();
  if (scope) {
    const out = runDiffoscope(scope, join(saved, 'a', name), join(saved, 'b', name));
    if (out) lines.push(`diffoscope:\n${out}`);
  } else lines.push(`saved as ${saved}/{a,b}/${name} (diffoscope ${saved}/a/${name} ${saved}/b/${name})`);
  return [{ where, what: lines.join('\n') }];
}

/** The Go build id: the .note.go.buildid ELF note (owner "Go", type 4); undefined when there is none (-buildid=). */
export function goBuildId(buf: Buffer): string | undefined {
  const n = elfNotes(buf).find((x) => x.owner === 'Go' && x.type === 4);
  return n?.desc.toString('latin1');
}

/** NT_GNU_BUILD_ID (owner "GNU", type 3) as hex, if any. */
export function gnuBuildId(buf: Buffer): string | undefined {
  return elfNotes(buf).find((x) => x.owner === 'GNU' && x.type === 3)?.desc.toString('hex');
}

/** Every note of the SHT_NOTE sections of a 64-bit little-endian ELF file (what arm64 and amd64 builds are). */
function elfNotes(buf: Buffer): Array<{ owner: string; type: number; desc: Buffer }> {
  const out: Array<{ owner: string; type: number; desc: Buffer }> = [];
  try {
    if (!isElf(buf) || buf[4] !== 2 || buf[5] !== 1) return out;
    const shoff = Number(buf.readBigUInt64LE(0x28));
    const shentsize = buf.readUInt16LE(0x3a);
    const shnum = buf.readUInt16LE(0x3c);
    for (let i = 0; i < shnum; i++) {
      const h = shoff + i * shentsize;
      if (buf.readUInt32LE(h + 4) !== 7) continue; // SHT_NOTE
      const off = Number(buf.readBigUInt64LE(h + 0x18));
      const size = Number(buf.readBigUInt64LE(h + 0x20));
      let p = off;
      while (p + 12 <= off + size) {
        const namesz = buf.readUInt32LE(p);
        const descsz = buf.readUInt32LE(p + 4);
        const type = buf.readUInt32LE(p + 8);
        const nameStart = p + 12;
        const descStart = nameStart + align4(namesz);
        out.push({ owner: buf.subarray(nameStart, nameStart + namesz).toString('latin1').replace(/\0+$/, ''), type, desc: buf.subarray(descStart, descStart + descsz) });
        p = descStart + align4(descsz);
      }
    }
  } catch {
    // A truncated or odd file: the notes read so far.
  }
  return out;
}

const align4 = (n: number) => (n + 3) & ~3;

export function printableStrings(buf: Buffer, min = 6): Set<string> {
  const out = new Set<string>();
  let start = -1;
  for (let i = 0; i <= buf.length; i++) {
    const c = i < buf.length ? (buf[i] as number) : 0;
    const ok = c >= 0x20 && c < 0x7f;
    if (ok && start < 0) start = i;
    else if (!ok && start >= 0) {
      if (i - start >= min) out.add(buf.subarray(start, i).toString('latin1'));
      start = -1;
    }
  }
  return out;
}

// ---- JSON and text ---------------------------------------------------------------------------

function compareJson(where: string, a: Buffer, b: Buffer): Difference[] | undefined {
  let ja: unknown;
  let jb: unknown;
  try {
    ja = JSON.parse(a.toString('utf8'));
    jb = JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
  const paths: string[] = [];
  jsonPaths(ja, jb, '$', paths);
  if (paths.length === 0) return [{ where, what: `same JSON value, different text: ${textDifference(a.toString('utf8'), b.toString('utf8'))}` }];
  return paths.map((p) => ({ where: `${where} ${p.split(': ')[0]}`, what: p.slice(p.indexOf(': ') + 2) }));
}

function jsonPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) jsonPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`, out);
    return;
  }
  out.push(`${path}: ${short(JSON.stringify(a))} vs ${short(JSON.stringify(b))}`);
}

export function textDifference(a: string, b: string): string {
  const la = a.split('\n');
  const lb = b.split('\n');
  const i = la.findIndex((l, k) => lb[k] !== l);
  const at = i < 0 ? la.length : i;
  let differing = 0;
  for (let k = 0; k < Math.max(la.length, lb.length); k++) if (la[k] !== lb[k]) differing++;
  return `text differs from line ${at + 1} (${differing} of ${Math.max(la.length, lb.length)} lines differ; ${la.length} vs ${lb.length} lines):\n  first:  ${short(JSON.stringify(la[at] ?? '(end of file)'))}\n  second: ${short(JSON.stringify(lb[at] ?? '(end of file)'))}`;
}

// ---- helpers -----------------------------------------------------------------------------------

/** Saves differing pieces under one directory per report, for diffoscope or a look by hand. */
let saved = 0;
class Ctx {
  private dir: string | undefined;
  constructor(private readonly base?: string) {}
  save(where: string, a: Buffer, b: Buffer, name = 'content'): string {
    this.dir ??= this.base ?? mkdtempSync(join(tmpdir(), 'crio-build-repro-diff-'));
    const d = join(this.dir, `${process.pid}-${String(++saved).padStart(3, '0')}-${where.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-80)}`);
    mkdirSync(join(d, 'a'), { recursive: true });
    mkdirSync(join(d, 'b'), { recursive: true });
    writeFileSync(join(d, 'a', name), a);
    writeFileSync(join(d, 'b', name), b);
    return d;
  }
}

let diffoscope: string | null | undefined;
export function diffoscopePath(): string | null {
  if (diffoscope === undefined) {
    try {
      diffoscope = execFileSync('sh', ['-c', 'command -v diffoscope'], { encoding: 'utf8' }).trim() || null;
    } catch {
      diffoscope = null;
    }
  }
  return diffoscope;
}

function runDiffoscope(bin: string, a: string, b: string): string {
  try {
    execFileSync(bin, ['--text', '-', '--max-report-size', '200000', a, b], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
    return '';
  } catch (err) {
    // diffoscope exits 1 when the files differ; its report is on stdout.
    const out = String((err as { stdout?: string }).stdout ?? (err as Error).message);
    return out.split('\n').slice(0, 80).join('\n');
  }
}

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(join(root, rel), { withFileTypes: true })).sort((x, y) => (x.name < y.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, r)));
    else out.push(r);
  }
  return out;
}

function describeBytes(a: Buffer, b: Buffer): string {
  let first = -1;
  let count = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  const sizes = a.length === b.length ? `${a.length} bytes each` : `${a.length} vs ${b.length} bytes`;
  return first < 0 ? `${sizes}, one is a prefix of the other` : `${sizes}, first difference at offset ${first} (0x${first.toString(16)}), ${count} differing bytes in the common length`;
}

const isAr = (b: Buffer) => b.subarray(0, 8).toString('latin1') === '!<arch>\n';
const isGzip = (b: Buffer) => b[0] === 0x1f && b[1] === 0x8b;
const isXz = (b: Buffer) => b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
const isTar = (b: Buffer) => b.length >= 512 && b.subarray(257, 262).toString('latin1') === 'ustar';
export const isElf = (b: Buffer) => b.subarray(0, 4).toString('latin1') === '\x7fELF';
const isText = (b: Buffer) => !b.subarray(0, 8192).includes(0) && Buffer.from(b.toString('utf8'), 'utf8').equals(b);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);
const octal = (m: number) => `0${m.toString(8)}`;
const iso = (t: number) => new Date(t * 1000).toISOString();
const short = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);
const basenameOf = (p: string) => posix.basename(p);
