/**
 * Release notes: what is in a release and how a Raspberry Pi installs it. The same text is the
 * GitHub release body and RELEASE_NOTES.md in the release directory; the Pi test runs the set-up
 * lines exactly as written here, so they must stay copy-paste correct.
 */
import type { ReleaseRecord } from '../package/record.js';

export interface AptSetup {
  /** Where the release's files are downloaded from, without a trailing slash. */
  baseUrl: string;
  /** The binary keyring's file name (also its name under /usr/share/keyrings/). */
  keyringFile: string;
}

export const SOURCES_LIST = '/etc/apt/sources.list.d/crio-build.list';

/** The two lines a Pi needs: fetch the key, add the source. */
export function aptSetupLines(s: AptSetup): [string, string] {
  const keyring = `/usr/share/keyrings/${s.keyringFile}`;
  return [
    `curl -fsSL ${s.baseUrl}/${s.keyringFile} | sudo tee ${keyring} >/dev/null`,
    `echo "deb [signed-by=${keyring}] ${s.baseUrl} ./" | sudo tee ${SOURCES_LIST}`,
  ];
}

/** The two commands a user runs to check the release they downloaded (README: "Check a release you downloaded"). */
export function verifyCommands(baseUrl: string): [string, string] {
  return [`crio-build verify ${baseUrl}`, `crio-build verify --rebuild ${baseUrl}`];
}

export interface NotesInput {
  tag: string;
  records: ReleaseRecord[];
  /** SHA256SUMS lines of every asset (the published file). */
  checksums: string;
  apt: AptSetup;
}

export function releaseTitle(records: ReleaseRecord[], tag: string): string {
  const r = records[0];
  if (!r) return tag;
  return r.nightly ? `CRI-O ${r.branch} nightly (${r.criOVersion})` : `CRI-O ${r.criOVersion}`;
}

export function releaseNotes(n: NotesInput): string {
  const first = n.records[0];
  if (!first) throw new Error('release notes: no packaged arch to describe');
  const arches = n.records.map((r) => r.arch).join(', ');
  const out: string[] = [];
  out.push(
    first.nightly
      ? `Nightly build of cri-o ${first.branch} (Kubernetes ${first.kubernetes}) for ${arches}. This release is rolled forward by every nightly run.`
      : `cri-o ${first.criOVersion} (Kubernetes ${first.kubernetes}) for ${arches}.`,
  );
  out.push('', '## Install on a Raspberry Pi (or any Debian/Ubuntu arm64 or amd64 machine)', '', '```sh');
  out.push(...aptSetupLines(n.apt));
  out.push('sudo apt-get update && sudo apt-get install cri-o', '```', '');
  out.push('`apt-get upgrade` then follows this release. The repository is signed; apt checks every file against the key above.', '');
  out.push('## Check this release', '', '```sh');
  out.push(...verifyCommands(n.apt.baseUrl));
  out.push('```', '');
  out.push(
    'The first checks SHA256SUMS, the signed apt index, the SBOMs and the signed build provenance (`provenance.intoto.jsonl`, SLSA v1 in a DSSE envelope) against the key published here (`--key FILE` pins the one you expect); ' +
      'the second also builds the release again from the sources, toolchain and builder the provenance names, on your machine, and compares every package byte for byte. ' +
      'Exit status 0: verified; 1: something differs (named in the output); 4: an input is no longer available.',
    '',
  );
  out.push('## Components', '', '| arch | component | version | commit | toolchain | strategy |', '|---|---|---|---|---|---|');
  for (const r of n.records) {
    for (const c of r.components) {
      out.push(`| ${r.arch} | ${c.name} | ${c.version} | \`${c.commit.slice(0, 12)}\` | ${c.toolchain.name} (${c.toolchain.version}) | ${c.strategy} |`);
    }
  }
  out.push('', `Kubernetes minor served: ${first.kubernetes}.`, '', '## Checksums (SHA256SUMS)', '', '```', n.checksums.trimEnd(), '```', '');
  out.push(`Made by crio-build from pinned sources; every commit and checksum is in crio-build-manifest.json.`);
  return out.join('\n') + '\n';
}
