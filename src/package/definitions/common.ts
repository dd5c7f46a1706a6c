// Helpers every package definition uses: control fields, documentation files, binaries.
import type { ControlFields } from '../deb/index.js';
import { debVersion } from '../../plan/naming.js';
import type { PackageFile } from '../packager.js';
import { changelogText, copyrightFile, gzip9n, lintianOverrides, type LintianOverride, type UpstreamInfo } from '../files/docs.js';
import type { InventoryFile } from './inventory.js';
import type { PackageContext } from './types.js';

/** Used when the stage is given no maintainer. */
export const DEFAULT_MAINTAINER = 'crio-build <crio-build@users.noreply.github.com>';

/** shlibs:Depends plus our own relations, without duplicates, in that order. */
export function mergeRelations(...parts: Array<string | readonly string[] | undefined>): string[] {
  const out: string[] = [];
  for (const p of parts) {
    const items = p === undefined ? [] : typeof p === 'string' ? p.split(',') : p;
    for (const raw of items) {
      const r = raw.trim().replace(/\s+/g, ' ');
      if (r && !out.includes(r)) out.push(r);
    }
  }
  return out;
}

/** `name (>= <our version of that component>)`, or plain `name` when the component is not in this run. */
export function siblingRelation(ctx: PackageContext, component: string, debName: string): string {
  const c = ctx.components.get(component);
  return c ? `${debName} (>= ${debVersion(c.version)})` : debName;
}

export interface ControlSpec {
  pkg: string;
  section: string;
  homepage: string;
  /** Synopsis, then the extended description (plain text lines). */
  description: string;
  depends?: string[];
  recommends?: string[];
  suggests?: string[];
  breaks?: string[];
  replaces?: string[];
  provides?: string[];
}

export function control(ctx: PackageContext, spec: ControlSpec): ControlFields {
  const c = ctx.component;
  const fields: ControlFields = {
    Package: spec.pkg,
    Version: debVersion(c.version),
    Architecture: ctx.arch,
    Maintainer: ctx.maintainer,
    Section: spec.section,
    Priority: 'optional',
    Homepage: spec.homepage,
    Description: spec.description,
  };
  if (spec.depends?.length) fields.Depends = spec.depends;
  if (spec.recommends?.length) fields.Recommends = spec.recommends;
  if (spec.suggests?.length) fields.Suggests = spec.suggests;
  if (spec.breaks?.length) fields.Breaks = spec.breaks;
  if (spec.replaces?.length) fields.Replaces = spec.replaces;
  if (spec.provides?.length) fields.Provides = spec.provides;
  return fields;
}

/** copyright, changelog.Debian.gz and the lintian overrides. */
export function docFiles(ctx: PackageContext, pkg: string, upstream: UpstreamInfo, overrides: readonly LintianOverride[], extraDocs: PackageFile[] = []): PackageFile[] {
  const c = ctx.component;
  const changes = [
    `Built by crio-build from ${upstream.name} ${c.version}, upstream commit ${c.commit}, for the cri-o ${ctx.branch} branch (Kubernetes ${ctx.kubernetes}) on ${ctx.arch}.`,
  ];
  const files: PackageFile[] = [
    { path: `/usr/share/doc/${pkg}/copyright`, content: copyrightFile(upstream, c.commitTime) },
    {
      path: `/usr/share/doc/${pkg}/changelog.Debian.gz`,
      content: gzip9n(changelogText({ pkg, version: debVersion(c.version), changes, maintainer: ctx.maintainer, date: c.commitTime })),
    },
    ...extraDocs,
  ];
  const all: LintianOverride[] = [
    ...overrides,
    {
      tag: 'initial-upload-closes-no-bugs',
      reason: 'These packages are published in crio-build\'s own apt repository, not uploaded to Debian: there is no ITP bug to close, and every build has a single changelog entry.',
    },
  ];
  files.push({ path: `/usr/share/lintian/overrides/${pkg}`, content: lintianOverrides(pkg, all) });
  return files;
}

/** Binaries (checked for the arch, stripped) installed into `dir` with mode 0755. */
export async function binaryFiles(ctx: PackageContext, binaries: readonly InventoryFile[], dir: string): Promise<PackageFile[]> {
  const out: PackageFile[] = [];
  for (const b of binaries) {
    const prepared = await ctx.prepareBinary(b.path);
    out.push({ path: `${dir}/${b.name}`, source: prepared.path, mode: 0o755 });
  }
  return out;
}
