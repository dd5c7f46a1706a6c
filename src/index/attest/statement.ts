/**
 * The release's build provenance: one in-toto Statement v1 whose predicate is SLSA v1.0 provenance
 * (https://slsa.dev/spec/v1.0/provenance), made from the release records of every arch in the
 * release and the files of the release directory.
 *
 *   subject               every published file (all of the release directory but this provenance
 *                         and the notes, which are the release's text, not a file), with its sha256
 *   externalParameters    what the operator chose: release, branch, arches, each run's command, and
 *                         the settings that changed sources (mirrors, toolchain swaps, pin swaps)
 *   internalParameters    what crio-build decided: per arch the lock, strategies, recipes digest,
 *                         pause image, the host, and the record's artifacts (with their kinds)
 *   resolvedDependencies  each component's source (git+<url>@<ref>, gitCommit), each toolchain
 *                         archive (sha256), each builder image (its key, base digest, package set)
 *
 * Nothing here is secret: records carry no keys, tokens or passphrases.
 */
import { canonicalJson } from '../../core/keys.js';
import type { ReleaseRecord, RecordedArtifact, RecordedBuild } from '../../package/record.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** Our build type: what externalParameters and internalParameters mean is documented in README ("Check a release you downloaded"). */
export const BUILD_TYPE = 'https://github.com/crio-build/crio-build/buildtypes/release/v1';
export const BUILDER_ID = 'https://github.com/crio-build/crio-build/builders/local/v1';
/** The SLSA convention for a provenance file published beside the artifacts. */
export const PROVENANCE_FILE = 'provenance.intoto.jsonl';

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface ResourceDescriptor {
  uri?: string;
  name?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
}

/** Per arch, what `verify --rebuild` reads back (internalParameters.arches[]). */
export interface ArchParameters {
  arch: string;
  branch: string;
  kubernetes: string;
  releaseTag: string;
  packagedAt: string;
  /** How the run was invoked; absent for a record without it (then this arch cannot be rebuilt from the provenance). */
  build?: Omit<RecordedBuild, 'command' | 'settings' | 'invocationId' | 'startedOn' | 'finishedOn'>;
  components: Array<{ name: string; version: string; strategy: string; buildKey: string; builderImage: string; builderKey?: string }>;
  artifacts: RecordedArtifact[];
}

export interface ProvenanceStatement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: typeof SLSA_PROVENANCE_V1;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: {
        release: string;
        branch: string;
        arches: string[];
        runs: Array<{ arch: string; command?: string[]; settings?: RecordedBuild['settings'] }>;
      };
      internalParameters: { crioBuildVersions: string[]; arches: ArchParameters[] };
      resolvedDependencies: ResourceDescriptor[];
    };
    runDetails: {
      builder: { id: string; version: Record<string, string> };
      metadata: { invocationId: string; startedOn: string; finishedOn: string };
    };
  };
}

export function makeStatement(o: { tag: string; records: readonly ReleaseRecord[]; subjects: readonly Subject[] }): ProvenanceStatement {
  const first = o.records[0];
  if (!first) throw new Error('provenance: no packaged arch to describe');
  const builds = o.records.map((r) => r.build).filter((b): b is RecordedBuild => b !== undefined);
  const versions = [...new Set(builds.map((b) => b.toolVersion))];
  const startedOn = builds.map((b) => b.startedOn).sort()[0] ?? first.packagedAt;
  const finishedOn = builds.map((b) => b.finishedOn).sort().at(-1) ?? o.records.map((r) => r.packagedAt).sort().at(-1)!;
  return {
    _type: STATEMENT_TYPE,
    subject: [...o.subjects].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          release: o.tag,
          branch: first.branch,
          arches: o.records.map((r) => r.arch),
          runs: o.records.map((r) => ({ arch: r.arch, ...(r.build ? { command: r.build.command, settings: r.build.settings } : {}) })),
        },
        internalParameters: { crioBuildVersions: versions, arches: o.records.map(archParameters) },
        resolvedDependencies: dependencies(o.records),
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: { 'crio-build': versions.join(' ') || 'unknown' } },
        metadata: {
          // One id per arch run; a release made of several runs names them all.
          invocationId: builds.map((b) => b.invocationId).join(' ') || `${o.tag}@${first.packagedAt}`,
          startedOn,
          finishedOn,
        },
      },
    },
  };
}

function archParameters(r: ReleaseRecord): ArchParameters {
  const b = r.build;
  return {
    arch: r.arch,
    branch: r.branch,
    kubernetes: r.kubernetes,
    releaseTag: r.releaseTag,
    packagedAt: r.packagedAt,
    ...(b
      ? {
          build: {
            host: b.host,
            toolVersion: b.toolVersion,
            recipesDigest: b.recipesDigest,
            lock: b.lock,
            ...(b.strategy ? { strategy: b.strategy } : {}),
            ...(b.pauseImage ? { pauseImage: b.pauseImage } : {}),
          },
        }
      : {}),
    components: r.components.map((c) => ({ name: c.name, version: c.version, strategy: c.strategy, buildKey: c.buildKey, builderImage: c.builderImage, ...(c.builder ? { builderKey: c.builder.key } : {}) })),
    artifacts: r.artifacts,
  };
}

/** Sources, toolchains and builder images, each once (the same commit or image serves several arches). */
function dependencies(records: readonly ReleaseRecord[]): ResourceDescriptor[] {
  const out = new Map<string, ResourceDescriptor>();
  for (const r of records) {
    for (const c of r.components) {
      const ref = c.ref.replace(/^(tag|branch) /, '');
      out.set(`src ${c.name} ${c.commit}`, { name: c.name, uri: `git+${c.url}@${ref}`, digest: { gitCommit: c.commit } });
      const t = c.toolchain;
      out.set(`tc ${t.url} ${t.sha256}`, { name: `${t.name} (${t.version})`, uri: t.url, digest: { sha256: t.sha256 } });
      if (c.builder) {
        const b = c.builder;
        out.set(`builder ${b.key}`, {
          name: `builder ${c.builderImage}`,
          uri: `docker-image:${c.builderImage}`,
          digest: { sha256: b.key },
          annotations: { ...(b as unknown as Record<string, unknown>), arch: r.arch },
        });
      }
    }
  }
  return [...out.values()];
}

/** The statement's bytes: canonical JSON (sorted keys), so equal inputs always give equal payloads. */
export function statementBytes(s: ProvenanceStatement): Buffer {
  return Buffer.from(canonicalJson(s), 'utf8');
}
