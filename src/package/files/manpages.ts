/**
 * Manual pages as upstream's `make docs` renders them (go-md2man from docs/*.md), fixed up where
 * needed. cri-o's pages start with a pandoc title line ("% crio(8) Open Container Initiative
 * Daemon"), which go-md2man 2.x turns into `.TH crio(8) Open Container Initiative Daemon`: man then
 * shows "Open" as the section (lintian: wrong-manual-section). Such a title is rewritten to the
 * form man(7) documents, `.TH "crio" "8" "" "<source>" "<title>"`; any other page is left alone.
 */

/** The page with a malformed `.TH name(section) title` line rewritten; unchanged otherwise. */
export function fixManTitle(page: string, source: string): string {
  return page.replace(/^\.TH ([A-Za-z0-9._-]+)\(([1-9])\)[ \t]*(.*)$/m, (_all, name: string, section: string, title: string) => {
    const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\(dq')}"`;
    return `.TH ${q(name)} ${q(section)} "" ${q(source)} ${q(title.trim())}`;
  });
}
