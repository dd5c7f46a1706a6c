/**
 * What every package has in /usr/share/doc/<package>: a machine-readable copyright file (DEP-5,
 * https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/) and changelog.Debian.gz,
 * generated from the build (version, commit, commit time), so the same build gives the same bytes.
 * Also the lintian overrides format (/usr/share/lintian/overrides/<package>).
 */
import { gzipSync } from 'node:zlib';

export interface UpstreamInfo {
  /** Upstream-Name. */
  name: string;
  /** Homepage / Source URL. */
  source: string;
  /** Copyright holders of the upstream work. */
  holder: string;
  /** First year of the work (from upstream's file headers); the last is the commit's year. */
  since: number;
  /** DEP-5 short name; only Apache-2.0 is used by these components. */
  license: 'Apache-2.0';
}

const APACHE_2_0 = `License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License");
 you may not use this file except in compliance with the License.
 You may obtain a copy of the License at
 .
 https://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS,
 WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 See the License for the specific language governing permissions and
 limitations under the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0
 can be found in "/usr/share/common-licenses/Apache-2.0".
`;

/** DEP-5 copyright file. */
export function copyrightFile(u: UpstreamInfo, commitTime: number): string {
  const until = new Date(commitTime * 1000).getUTCFullYear();
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${u.name}
Source: ${u.source}
Comment: Binary package built by crio-build from the upstream source at the
 commit named in changelog.Debian.gz. Go programs link the modules vendored
 in that source tree, each under its own license as recorded in the tree's
 vendor/ directory. The packaging (crio-build) is also under Apache-2.0.

Files: *
Copyright: ${u.since}-${until} ${u.holder}
License: ${u.license}

${APACHE_2_0}`;
}

/** RFC 5322 date as debian/changelog wants it: "Mon, 01 Jun 2020 12:00:00 +0000" (UTC). */
export function changelogDate(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Wraps words into lines of at most `width` characters, each starting with `indent`. */
export function wrap(text: string, width: number, indent: string, firstIndent = indent): string[] {
  const lines: string[] = [];
  let line = firstIndent;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  if (!empty) lines.push(line);
  return lines;
}

export interface ChangelogEntry {
  pkg: string;
  /** Full Debian version. */
  version: string;
  /** Bullet points (plain text, wrapped here). */
  changes: string[];
  maintainer: string;
  /** Seconds since the epoch (the source commit's time). */
  date: number;
  distribution?: string;
}

/** One debian/changelog entry (deb-changelog(5)). */
export function changelogText(e: ChangelogEntry): string {
  const body = e.changes.flatMap((c) => wrap(c, 78, '    ', '  * '));
  return `${e.pkg} (${e.version}) ${e.distribution ?? 'unstable'}; urgency=medium

${body.join('\n')}

 -- ${e.maintainer}  ${changelogDate(e.date)}
`;
}

/**
 * gzip -9n: maximum compression, no file name, no timestamp (zlib writes mtime 0), so the output
 * depends on the content only (lintian: changelog-not-compressed-with-max-compression,
 * package-contains-timestamped-gzip).
 */
export function gzip9n(data: string | Buffer): Buffer {
  return gzipSync(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, { level: 9 });
}

export interface LintianOverride {
  tag: string;
  /** The hint's context as lintian prints it in brackets, e.g. "[usr/bin/crictl]"; omit to match all. */
  context?: string;
  /** Why: written as a comment above the override. */
  reason: string;
}

/** /usr/share/lintian/overrides/<package> text. */
export function lintianOverrides(pkg: string, overrides: readonly LintianOverride[]): string {
  return overrides
    .map((o) => `${wrap(o.reason, 78, '# ').join('\n')}\n${pkg}: ${o.tag}${o.context ? ` ${o.context}` : ''}\n`)
    .join('\n');
}
