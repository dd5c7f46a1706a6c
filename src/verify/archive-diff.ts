/**
 * Where two files differ, down to the archive member: a .deb's ar members (control.tar.*,
 * data.tar.*), the files inside those tars (and inside a bundle's tar.gz), each with sizes and
 * sha256; compressed members are decompressed first (gzip here, xz with `xz -d`), so a difference
 * in compression alone is told apart from one in content.
 */
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { sha256Hex } from '../core/hash.js';
import { run } from '../core/run.js';
import { AR_MAGIC, readArBuffer } from '../package/ar.js';

type ArMember = ReturnType<typeof readArBuffer>[number];

export interface Difference {
  /** The file and the members inside it: "cri-o_…_arm64.deb > data.tar.xz > ./usr/bin/crio". */
  where: string;
  what: string;
}

const isAr = (b: Buffer) => b.subarray(0, AR_MAGIC.length).equals(AR_MAGIC);
const isGzip = (b: Buffer) => b[0] === 0x1f && b[1] === 0x8b;
const isXz = (b: Buffer) => b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
const isTar = (b: Buffer) => b.length >= 512 && b.subarray(257, 262).toString('latin1') === 'ustar';

export async function diffBytes(where: string, a: Buffer, b: Buffer): Promise<Difference[]> {
  if (a.equals(b)) return [];
  if (isAr(a) && isAr(b)) return diffAr(where, a, b);
  if ((isGzip(a) && isGzip(b)) || (isXz(a) && isXz(b))) {
    const [da, db] = isGzip(a) ? [gunzipSync(a), gunzipSync(b)] : await Promise.all([unxz(a), unxz(b)]);
    if (da.equals(db)) return [{ where, what: `compressed bytes differ, decompressed content is equal (${a.length} vs ${b.length} bytes)` }];
    return diffBytes(where, da, db);
  }
  if (isTar(a) && isTar(b)) return diffTar(where, a, b);
  return [{ where, what: firstDifference(a, b) }];
}

function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const text = (x: Buffer) => !x.subarray(0, 4096).includes(0);
  if (text(a) && text(b)) {
    const line = a.subarray(0, i).toString('utf8').split('\n').length;
    const la = a.toString('utf8').split('\n')[line - 1] ?? '';
    const lb = b.toString('utf8').split('\n')[line - 1] ?? '';
    return `line ${line} differs: ${JSON.stringify(la.slice(0, 200))} vs ${JSON.stringify(lb.slice(0, 200))}`;
  }
  return `content differs from byte ${i} (sizes ${a.length} vs ${b.length}, sha256 ${sha256Hex(a).slice(0, 16)}… vs ${sha256Hex(b).slice(0, 16)}…)`;
}

/** A decompressed member is held whole to be compared: past this it is not a package we made. */
const MAX_UNXZ = 1024 * 1024 * 1024;

async function unxz(b: Buffer): Promise<Buffer> {
  return (await run('xz', ['-dc'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdin: b, maxOutput: MAX_UNXZ, installHint: 'install xz-utils' })).stdout;
}

async function diffAr(where: string, a: Buffer, b: Buffer): Promise<Difference[]> {
  let ma: ArMember[];
  let mb: ArMember[];
  try {
    [ma, mb] = [readArBuffer(a), readArBuffer(b)];
  } catch {
    // A malformed archive is compared as bytes: where they first differ is the difference.
    return [{ where, what: firstDifference(a, b) }];
  }
  const out: Difference[] = [];
  const na = ma.map((m) => m.name).join(', ');
  const nb = mb.map((m) => m.name).join(', ');
  if (na !== nb) out.push({ where, what: `ar members ${na} vs ${nb}` });
  for (const x of ma) {
    const y = mb.find((m) => m.name === x.name);
    if (!y) continue;
    if (x.fields !== y.fields) out.push({ where: `${where} > ${x.name}`, what: `ar header (mtime uid gid mode size) ${x.fields} vs ${y.fields}` });
    if (!x.data.equals(y.data)) out.push(...(await diffBytes(`${where} > ${x.name}`, x.data, y.data)));
  }
  return out;
}

interface TarEntry {
  attrs: string;
  size: number;
  sha256: string;
  data: Buffer;
}

async function readTar(buf: Buffer): Promise<Map<string, TarEntry>> {
  const out = new Map<string, TarEntry>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const data = Buffer.concat(chunks);
        const attrs = `type ${h.type} mode ${(h.mode ?? 0).toString(8)} owner ${h.uid}:${h.gid} (${h.uname ?? ''}:${h.gname ?? ''}) mtime ${h.mtime?.getTime?.() ?? 0}${h.linkname ? ` link ${h.linkname}` : ''}`;
        out.set(h.name, { attrs, size: data.length, sha256: sha256Hex(data), data });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(buf);
  await done;
  return out;
}

async function diffTar(where: string, a: Buffer, b: Buffer): Promise<Difference[]> {
  const [ea, eb] = await Promise.all([readTar(a), readTar(b)]);
  const out: Difference[] = [];
  for (const [name, x] of ea) {
    const y = eb.get(name);
    const at = `${where} > ${name}`;
    if (!y) {
      out.push({ where: at, what: 'only in the published file' });
      continue;
    }
    if (x.attrs !== y.attrs) out.push({ where: at, what: `${x.attrs} vs ${y.attrs}` });
    if (x.sha256 !== y.sha256) out.push({ where: at, what: `content differs: size ${x.size} vs ${y.size}, sha256 ${x.sha256} (published) vs ${y.sha256} (rebuilt)` });
  }
  for (const name of eb.keys()) if (!ea.has(name)) out.push({ where: `${where} > ${name}`, what: 'only in the rebuilt file' });
  if (out.length === 0) {
    const order = (m: Map<string, TarEntry>) => [...m.keys()].join('\n');
    out.push({ where, what: order(ea) !== order(eb) ? 'the same entries in another order' : 'tar headers differ in fields not compared here (every entry\'s name, attributes and content are equal)' });
  }
  return out;
}
