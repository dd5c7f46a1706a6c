// The format-independent packaging contract, modelled on nFPM's `Packager`
// (nfpm.go): one object per output format, selected by name, that knows its
// conventional file name and writes a package from a package description.
// The .deb writer implements it in ./deb/; the bundle tarball can implement it
// with its own `Info` type, as long as it extends `PackageInfo`.

/** One entry of the installed tree. Exactly one of source, content, symlink
 * or directory describes what the entry is. */
export interface PackageFile {
  /** Absolute path on the target system, e.g. /usr/bin/crio. */
  path: string;
  /** Regular file: path on the build machine to copy from (read once, streamed). */
  source?: string;
  /** Regular file: literal content (for small generated files: configs, units). */
  content?: string | Buffer;
  /** Symbolic link with this target (stored verbatim, relative or absolute). */
  symlink?: string;
  /** An explicit (possibly empty) directory; parents of files are implied anyway. */
  directory?: boolean;
  /** Permission bits (0..0o7777). Default: regular files 0755 if the source has
   * any execute bit, else 0644; content 0644; directories 0755. */
  mode?: number;
  /** A configuration file that the package manager must preserve on upgrade. */
  conffile?: boolean;
}

/** What every format needs: the payload and the timestamp that makes builds
 * reproducible (https://reproducible-builds.org/specs/source-date-epoch/). */
export interface PackageInfo {
  files: PackageFile[];
  /** Seconds since the epoch, used for every timestamp written to the archive. */
  sourceDateEpoch: number;
}

export interface PackageResult {
  /** Absolute or outDir-relative path of the written file (outDir joined with the name). */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Lower-case hex SHA-256 of the file, computed while writing it. */
  sha256: string;
}

export interface Packager<Info extends PackageInfo = PackageInfo> {
  /** Short format name, also the file extension: "deb", ... */
  readonly format: string;
  /** The file name the format's ecosystem expects, e.g. cri-o_1.18.1-1_arm64.deb. */
  conventionalFileName(info: Info): string;
  /** Write the package into outDir under its conventional name, atomically:
   * the file appears complete or not at all. */
  package(info: Info, outDir: string): Promise<PackageResult>;
}
