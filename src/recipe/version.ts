/**
 * Upstream versions of what we build. A tag gives its own version ("v1.18.1" -> "1.18.1"). A branch
 * head that is not exactly a release gives a nightly version that sorts, in dpkg's order, above the
 * branch's last release and below the next one, and above every earlier nightly:
 *   1.18.1+git20200601120000.abcdef1   (last tag v1.18.1, commit time, short commit)
 *   1.19.0~dev+git20200601120000.abc1234  (no release on the branch yet: below 1.19.0)
 * The commit time (UTC) carries the order between nightlies; the short commit keeps it readable.
 */


export function upstreamVersion(
  ref: { tag: string } | { branch: string },
  commit: string,
  commitTime: number,
  tags: Map<string, string>,
  branch: { versionTags: string; kubernetes: string },
): string {
  if ('tag' in ref) return stripV(ref.tag);
  const releases = [...tags.entries()].filter(([tag]) => globMatch(branch.versionTags, tag));
  const exact = releases.filter(([, c]) => c === commit).map(([t]) => t).sort(compareVersions).at(-1);
  if (exact) return stripV(exact);
  const last = releases.map(([t]) => t).sort(compareVersions).at(-1);
  const base = last ? stripV(last) : `${branch.kubernetes}.0~dev`;
  return `${base}+git${utcStamp(commitTime)}.${commit.slice(0, 7)}`;
}

export function stripV(tag: string): string {
  return tag.replace(/^v(?=\d)/, '');
}

/** Only release tags count: "v1.18.*" matches v1.18.3 but not v1.18.3-rc.1. */
export function globMatch(glob: string, tag: string): boolean {
  const prefix = glob.slice(0, -1);
  return tag.startsWith(prefix) && /^\d+(\.\d+)*$/.test(tag.slice(prefix.length));
}

function compareVersions(a: string, b: string): number {
  const pa = stripV(a).split('.').map(Number);
  const pb = stripV(b).split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function utcStamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
