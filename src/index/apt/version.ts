// Debian version ordering, as dpkg implements it (lib/dpkg/version.c: dpkg_version_compare and
// verrevcmp), so the Packages index lists versions in the order apt ranks them. Tested against
// `dpkg --compare-versions` on a table.

interface ParsedVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** [epoch:]upstream[-revision]; a missing revision compares like "" (which equals "0"). */
function parse(version: string): ParsedVersion {
  const colon = version.indexOf(':');
  const epoch = colon >= 0 ? Number(version.slice(0, colon)) : 0;
  const rest = colon >= 0 ? version.slice(colon + 1) : version;
  const hyphen = rest.lastIndexOf('-');
  return hyphen >= 0
    ? { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) }
    : { epoch, upstream: rest, revision: '' };
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** dpkg's order(): "~" sorts before everything, even the end of the string; letters before other characters. */
function order(c: number | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e) return -1; // ~
  return c + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const ca = (k: number): number | undefined => (k < a.length ? a.charCodeAt(k) : undefined);
  const cb = (k: number): number | undefined => (k < b.length ? b.charCodeAt(k) : undefined);
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(ca(i))) || (j < b.length && !isDigit(cb(j)))) {
      const ac = order(ca(i));
      const bc = order(cb(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (ca(i) === 0x30) i++;
    while (cb(j) === 0x30) j++;
    while (isDigit(ca(i)) && isDigit(cb(j))) {
      if (firstDiff === 0) firstDiff = (ca(i) as number) - (cb(j) as number);
      i++;
      j++;
    }
    if (isDigit(ca(i))) return 1;
    if (isDigit(cb(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` (dpkg --compare-versions). */
export function compareDebianVersions(a: string, b: string): number {
  const va = parse(a);
  const vb = parse(b);
  if (va.epoch !== vb.epoch) return va.epoch - vb.epoch;
  const up = verrevcmp(va.upstream, vb.upstream);
  if (up !== 0) return up;
  return verrevcmp(va.revision, vb.revision);
}
