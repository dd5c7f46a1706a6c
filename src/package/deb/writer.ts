// Assembles a .deb (deb(5)): ar members debian-binary, control.tar.gz,
// data.tar.{gz,xz}, in that order. An ar header states its member's size, so
// data.tar is first streamed to a temporary file beside the output; then the
// archive is written to a temporary name, fsynced and renamed into place. The
// output therefore appears complete or not at all, and every temporary file is
// removed on failure.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ArWriter } from '../ar.js';
import type { PackageResult } from '../packager.js';
import { checkCompressor, extension, type Compressor } from './compress.js';
import { buildControlTarGz, checkScripts } from './control-tar.js';
import { renderControl } from './control.js';
import { writeDataTar } from './data-tar.js';
import { planTree } from './tree.js';
import type { DebInput } from './types.js';

// tar stores mtimes in 11 octal digits; keep inside that (year 2242).
const MAX_EPOCH = 8 ** 11 - 1;

function compressorOf(input: DebInput): Compressor {
  const c = input.compression ?? { data: 'xz' };
  if (c.data !== 'gzip' && c.data !== 'xz') {
    throw new Error(`compression.data "${String(c.data)}" is not allowed; use "gzip" or "xz"`);
  }
  const compressor: Compressor = {
    kind: c.data,
    level: c.level ?? (c.data === 'gzip' ? 9 : 6),
    threads: c.threads ?? 1,
    ...(c.blockSize !== undefined ? { blockSize: c.blockSize } : {}),
    ...(c.dictSize !== undefined ? { dictSize: c.dictSize } : {}),
  };
  if (compressor.kind === 'gzip' && (c.blockSize !== undefined || c.dictSize !== undefined)) throw new Error('compression.blockSize and dictSize are for xz only');
  checkCompressor(compressor);
  checkCompressor({ kind: 'gzip', level: c.controlLevel ?? 9, threads: 1 });
  return compressor;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Validates what can be validated before touching the disk. */
function prepare(input: DebInput) {
  const epoch = input.sourceDateEpoch;
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
    throw new Error(`sourceDateEpoch ${epoch}: an integer number of seconds from 0 to ${MAX_EPOCH} is required`);
  }
  const compressor = compressorOf(input);
  checkScripts(input.scripts);
  const entries = planTree(input.files);
  // Render once with a dummy size so field errors surface before any I/O.
  renderControl(input.control, 0);
  return { epoch, compressor, entries };
}

/**
 * Writes the package to `outPath` (its directory must exist). Byte-identical
 * output for identical input: file system mtimes, owners and input order are
 * not recorded. Every timestamp (tar entries, ar headers) is set to
 * `sourceDateEpoch` rather than clamped to it as dpkg-deb does: our payloads
 * are build outputs copied out of containers, whose mtimes say nothing, and
 * clamping would make the bytes depend on when the copy happened.
 */
export async function writeDeb(input: DebInput, outPath: string): Promise<PackageResult> {
  const { epoch, compressor, entries } = prepare(input);
  const dir = dirname(outPath);
  const tmpBase = join(dir, `.${basename(outPath)}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const dataTmp = `${tmpBase}.data.tmp`;
  const debTmp = `${tmpBase}.tmp`;
  try {
    const data = await writeDataTar(entries, epoch, compressor, dataTmp);
    const control = renderControl(input.control, data.installedSize);
    const controlTar = await buildControlTarGz(
      { control, md5sums: data.md5sums, conffiles: data.conffiles, ...(input.scripts ? { scripts: input.scripts } : {}) },
      epoch,
      input.compression?.controlLevel ?? 9,
    );

    const fh = await open(debTmp, 'wx', 0o644);
    let result: { size: number; sha256: string };
    try {
      const ar = await ArWriter.create(fh);
      await ar.addBuffer('debian-binary', Buffer.from('2.0\n'), epoch);
      await ar.addBuffer('control.tar.gz', controlTar, epoch);
      await ar.addFile(`data.tar.${extension(compressor.kind)}`, dataTmp, epoch);
      await fh.sync();
      result = { size: ar.size, sha256: ar.digest() };
    } finally {
      await fh.close();
    }
    await rm(dataTmp, { force: true });
    await rename(debTmp, outPath);
    await fsyncDir(dir);
    return { path: outPath, ...result };
  } catch (err) {
    await Promise.all([rm(dataTmp, { force: true }), rm(debTmp, { force: true })]);
    throw err;
  }
}
