/**
 * A branch that moves (cri-o main) says in its own tree what it needs; its recipe `follow`s those
 * files instead of pinning values that go stale:
 *   - the Kubernetes minor from `const Version = "1.37.0"` (cri-o's internal/version/version.go);
 *   - the Go toolchain from go.mod's `go 1.26.4` directive, matched against our toolchain catalog;
 *   - the companions' versions from dependencies.yaml (the file cri-o's CI keeps them in, checked by
 *     zeitgeist: `dependencies: [{ name: conmon, version: v2.1.13, refPaths: [...] }, ...]`).
 * The readers here take the files' text; the resolver reads them from the commit it resolved.
 */
import { parse } from 'yaml';
import { z } from 'zod';
import { SourceError } from '../core/errors.js';

/** `go 1.26.4` (or `go 1.26`) of a go.mod. */
export function goDirective(goMod: string, where: string): string {
  const m = /^go\s+(\d+\.\d+(?:\.\d+)?)\s*(?:\/\/.*)?$/m.exec(goMod);
  if (!m) throw new SourceError(`${where}: no \`go\` directive (such as "go 1.26.4") found`);
  return m[1] as string;
}

/** The string of `const Version = "1.37.0"` in a Go file. */
export function versionConst(goFile: string, where: string): string {
  const m = /^\s*(?:const\s+)?Version\s*=\s*"(\d+\.\d+\.\d+[^"]*)"/m.exec(goFile);
  if (!m) throw new SourceError(`${where}: no \`const Version = "X.Y.Z"\` found`);
  return m[1] as string;
}

/** "1.37.0" -> "1.37": CRI-O's minor is the Kubernetes minor it serves. */
export function minorOf(version: string): string {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) throw new SourceError(`version "${version}" does not start with major.minor`);
  return `${m[1]}.${m[2]}`;
}

const dependencies = z.object({
  dependencies: z.array(z.object({ name: z.string(), version: z.union([z.string(), z.number()]) }).passthrough()),
});

/** The version dependencies.yaml gives for `name`, as a tag (`v2.1.13`; a bare `1.29.1` gets no v added). */
export function dependencyVersion(text: string, name: string, where: string): string {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 0 });
  } catch (err) {
    throw new SourceError(`${where}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  const parsed = dependencies.safeParse(doc);
  if (!parsed.success) throw new SourceError(`${where}: expected a list \`dependencies:\` of {name, version}`);
  const hit = parsed.data.dependencies.find((d) => d.name === name);
  if (!hit) {
    const names = parsed.data.dependencies.map((d) => d.name).join(', ');
    throw new SourceError(`${where}: names no version for ${name}`, `it lists: ${names}`);
  }
  return String(hit.version);
}

/** dpkg-free numeric comparison of dotted versions ("1.26.4" vs "1.26.10"). */
function compareDotted(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The toolchain for a go directive: `go<version>` when the catalog (or the settings) has it, else the
 * newest of the same minor at or above it (a go directive is a minimum; patch releases only fix).
 * `available` maps toolchain names to their Go versions.
 */
export function toolchainFor(goVersion: string, available: Map<string, string>): string | undefined {
  const exact = `go${goVersion}`;
  if (available.has(exact)) return exact;
  const minor = minorOf(goVersion);
  const candidates = [...available.entries()]
    .filter(([, v]) => /^\d+\.\d+(\.\d+)?$/.test(v) && minorOf(v) === minor && compareDotted(v, goVersion) >= 0)
    .sort((a, b) => compareDotted(a[1], b[1]));
  return candidates.at(-1)?.[0];
}
