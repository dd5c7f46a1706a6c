// The input model of the .deb writer.
import type { PackageInfo } from '../packager.js';

/** A relationship field value: one string ("a (>= 1), b | c") or its
 * comma-separated parts as a list (joined with ", "). */
export type Relations = string | readonly string[];

/**
 * Fields of DEBIAN/control (deb-control(5)). Installed-Size is computed by the
 * writer and must not be given. Other fields may be added under their
 * canonical spelling; they are written after the known ones in the order given.
 */
export interface ControlFields {
  Package: string;
  /** [epoch:]upstream[-revision]; the upstream part starts with a digit. */
  Version: string;
  /** A Debian architecture (amd64, arm64, armhf, ...) or "all". */
  Architecture: string;
  /** "Full Name <address>". */
  Maintainer: string;
  /** First line: the synopsis. Further lines: the extended description as
   * plain text; the writer adds the leading space Debian requires and writes
   * blank lines as " .". A line that already starts with a space is shown
   * verbatim by package tools (Debian policy 5.6.13). */
  Description: string;
  Source?: string;
  Section?: string;
  Priority?: 'required' | 'important' | 'standard' | 'optional' | 'extra';
  Homepage?: string;
  Essential?: 'yes' | 'no';
  Protected?: 'yes' | 'no';
  'Multi-Arch'?: 'same' | 'foreign' | 'allowed' | 'no';
  'Pre-Depends'?: Relations;
  Depends?: Relations;
  Recommends?: Relations;
  Suggests?: Relations;
  Enhances?: Relations;
  Conflicts?: Relations;
  Breaks?: Relations;
  Replaces?: Relations;
  Provides?: Relations;
  'Built-Using'?: Relations;
  [field: string]: string | readonly string[] | undefined;
}

/** Maintainer scripts; each must start with "#!" and is stored with mode 0755. */
export interface MaintainerScripts {
  preinst?: string;
  postinst?: string;
  prerm?: string;
  postrm?: string;
}

export interface DebCompression {
  /** Compressor for data.tar. control.tar is always gzip: it is a few KiB,
   * and gzip is readable by every tool that opens .deb files. */
  data: 'gzip' | 'xz';
  /** Level for data.tar. Default: 9 for gzip, 6 for xz (dpkg-deb's default). */
  level?: number;
  /** xz worker threads. Default 1. Only speed and the xz child's memory
   * (about 150 MB per thread at -6) depend on it, not the output: xz always
   * runs its multi-threaded compressor, like dpkg-deb (needs xz >= 5.4). */
  threads?: number;
  /** xz only: uncompressed bytes per xz block (see Compressor.blockSize). Default: the preset's. */
  blockSize?: number;
  /** xz only: LZMA2 dictionary bytes (see Compressor.dictSize). Default: the preset's. */
  dictSize?: number;
  /** gzip level for control.tar. Default 9. */
  controlLevel?: number;
}

export interface DebInput extends PackageInfo {
  control: ControlFields;
  scripts?: MaintainerScripts;
  /** Default: { data: 'xz', level: 6, threads: 1 }. */
  compression?: DebCompression;
}
