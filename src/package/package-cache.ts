/**
 * The whole package stage by content key: when none of its inputs changed (the builds' keys, the
 * pause image, the packaging code itself), a no-op nightly re-verifies the files it has and does not
 * even start the stage. When some did, the stage itself reuses every file whose own key is unchanged
 * (package/keys.ts): a one-component change repacks that .deb, the bundle and SHA256SUMS.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { contentKey } from '../core/keys.js';
import { sha256File } from '../core/hash.js';
import type { Plan } from '../plan/planner.js';
import { packagingCodeDigest } from './keys.js';
import { CHECKSUMS_FILE, debName } from '../plan/naming.js';
import type { PackageStageResult } from './package-all.js';
import type { ReleaseRecord } from './record.js';

export async function packagedKey(plan: Plan, pauseImage: string | undefined): Promise<string> {
  return contentKey('packaged', {
    // The SBOMs beside the packages also record each source's repository and licence.
    builds: plan.components.map((c) => ({ name: c.name, key: c.buildKey, version: c.source.version, commit: c.source.commit, commitTime: c.source.commitTime, url: c.source.url, license: c.license ?? null })),
    branch: plan.branch,
    kubernetes: plan.kubernetes,
    arch: plan.arch,
    pauseImage: pauseImage ?? null,
    code: await packagingCodeDigest(),
  });
}

/** True when every artifact the record lists is in `dir` with its recorded size and sha256. */
export async function recordIntact(dir: string, record: ReleaseRecord): Promise<boolean> {
  for (const a of record.artifacts) {
    const path = join(dir, a.file);
    const st = await stat(path).catch(() => undefined);
    if (!st || st.size !== a.size) return false;
    if ((await sha256File(path)) !== a.sha256) return false;
  }
  return stat(join(dir, CHECKSUMS_FILE)).then(() => true, () => false);
}

/** The package stage's result, rebuilt from a record whose files are intact. */
export function resultFromRecord(dir: string, record: ReleaseRecord): PackageStageResult {
  const debs = record.artifacts
    .filter((a) => a.package && !a.kind)
    .map((a) => ({ name: a.package?.name ?? debName(a.component), version: a.package?.version ?? '', component: a.component, file: a.file, path: join(dir, a.file), sha256: a.sha256, size: a.size }));
  const b = record.artifacts.find((a) => !a.package && !a.kind);
  if (!b) throw new Error(`${dir}: the release record lists no bundle`);
  const documents = record.artifacts.flatMap((a) => (a.kind ? [{ kind: a.kind, of: a.of ?? '', file: a.file, path: join(dir, a.file), sha256: a.sha256, size: a.size }] : []));
  return { debs, bundle: { file: b.file, path: join(dir, b.file), sha256: b.sha256, size: b.size }, documents, checksumsPath: join(dir, CHECKSUMS_FILE), warnings: [], repacked: [], reused: record.artifacts.map((a) => a.file).sort() };
}
