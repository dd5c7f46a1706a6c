/**
 * The shared libraries an ELF executable asks the dynamic loader for (its DT_NEEDED entries:
 * "libc.so.6", "libseccomp.so.2"), read from the PT_DYNAMIC segment. This is the list
 * dpkg-shlibdeps starts from when it computes a package's shlibs:Depends, so the SBOM names, per
 * binary, the sonames behind the library packages it lists from Depends.
 */
import { PT_DYNAMIC, PT_INTERP, readVirtual, type ElfImage } from '../definitions/elf.js';

const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;

export interface DynamicLinking {
  /** Has a PT_INTERP: needs the dynamic loader (false for static binaries). */
  dynamic: boolean;
  /** DT_NEEDED sonames, in the binary's order. */
  needed: string[];
}

export function dynamicLinking(img: ElfImage): DynamicLinking {
  const dynamic = img.segments.some((s) => s.type === PT_INTERP);
  const seg = img.segments.find((s) => s.type === PT_DYNAMIC);
  if (!seg || seg.offset + seg.filesz > img.data.length) return { dynamic, needed: [] };
  const table = img.data.subarray(seg.offset, seg.offset + seg.filesz);
  const neededOffsets: number[] = [];
  let strtab: number | undefined;
  let strsz: number | undefined;
  for (let o = 0; o + 16 <= table.length; o += 16) {
    const tag = table.readBigInt64LE(o);
    const val = table.readBigUInt64LE(o + 8);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededOffsets.push(Number(val));
    else if (tag === DT_STRTAB) strtab = Number(val);
    else if (tag === DT_STRSZ) strsz = Number(val);
  }
  if (strtab === undefined || strsz === undefined) return { dynamic, needed: [] };
  const strings = readVirtual(img, strtab, strsz);
  if (!strings) return { dynamic, needed: [] };
  const needed = neededOffsets.flatMap((off) => {
    if (off >= strings.length) return [];
    const end = strings.indexOf(0, off);
    return [strings.toString('latin1', off, end < 0 ? strings.length : end)];
  });
  return { dynamic, needed };
}
