/**
 * The lintian overrides shipped in each package (/usr/share/lintian/overrides/<package>), each with
 * its reason. They are derived from the binaries actually packaged (read from their ELF headers, the
 * way lintian reads them), so an override exists exactly when its tag would be emitted and a build
 * that changes (say, a PIE crio) loses the override with the tag.
 *
 * Why these tags appear at all: lintian exempts Go programs from its static-linking and hardening
 * checks only when the source package build-depends on golang-go. A binary package built outside
 * Debian's source package machinery has no source package for lintian to look at.
 */
import type { LintianOverride } from '../files/docs.js';
import type { ElfInfo } from './elf.js';

export interface BinaryFacts {
  /** Installed path without the leading slash, as lintian prints it: usr/bin/crio. */
  path: string;
  elf: ElfInfo;
  language: 'go' | 'c';
  /** Why it is static, when it is (who decided so upstream). */
  staticReason?: string;
  /** Why there is no manual page, when there is none. */
  noManPageReason?: string;
}

export function binaryOverrides(facts: readonly BinaryFacts[]): LintianOverride[] {
  const out: LintianOverride[] = [];
  for (const f of facts) {
    const ctx = `[${f.path}]`;
    const isStatic = !f.elf.dynamic && !f.elf.pie;
    if (isStatic) {
      out.push({
        tag: 'statically-linked-binary',
        context: ctx,
        reason: `${f.path} is statically linked on purpose: ${f.staticReason ?? (f.language === 'go' ? 'a Go program built with CGO_ENABLED=0, as upstream builds its release binaries' : 'upstream links it statically')}. lintian only recognises Go programs by a golang-go build dependency of a Debian source package, which this binary-only build does not have.`,
      });
    }
    if (f.elf.dynamic && !f.elf.pie && f.language === 'go') {
      out.push({
        tag: 'hardening-no-pie',
        context: ctx,
        reason: `${f.path} is a cgo program linked in Go's default build mode (exe), as upstream's Makefile builds it; lintian exempts Go programs only when it sees a golang-go build dependency.`,
      });
    }
    if (f.elf.dynamic && !f.elf.relro && f.language === 'go') {
      out.push({
        tag: 'hardening-no-relro',
        context: ctx,
        reason: `${f.path} is linked by the Go linker, which upstream's Makefile does not ask for -z relro; lintian exempts Go programs only when it sees a golang-go build dependency.`,
      });
    }
    if (f.noManPageReason !== undefined) {
      out.push({ tag: 'no-manual-page', context: ctx, reason: f.noManPageReason });
    }
  }
  return out;
}

/** Whether a manual page for `binary` is among `pages` (file names such as crio.8). */
export function hasManPage(binary: string, pages: readonly string[]): boolean {
  return pages.some((p) => p.replace(/\.[1-9]$/, '') === binary && /\.[18]$/.test(p));
}

export function criOOverrides(o: { binaries: Array<{ name: string; elf: ElfInfo }>; manPages: readonly string[] }): LintianOverride[] {
  const reasons: Record<string, string> = {
    crio: 'this cri-o branch was built without its manual pages (make docs needs go-md2man); crio --help documents the options.',
    'crio-status': 'this cri-o branch was built without its manual pages (make docs needs go-md2man); crio-status --help documents it.',
    pinns: 'upstream ships no manual page for pinns, a helper crio runs to pin namespaces; it is not meant to be run by hand.',
  };
  return binaryOverrides(
    o.binaries.map((b) => ({
      path: `usr/bin/${b.name}`,
      elf: b.elf,
      language: b.name === 'pinns' ? 'c' : 'go',
      ...(b.name === 'pinns' ? { staticReason: "upstream's pinns/Makefile links it with -static" } : {}),
      ...(hasManPage(b.name, o.manPages) ? {} : { noManPageReason: reasons[b.name] ?? `upstream ships no manual page for ${b.name}.` }),
    })),
  );
}
