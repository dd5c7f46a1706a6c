/**
 * Bytewise (C locale) order of strings as UTF-8, the order Debian's tools and `LC_ALL=C sort` use
 * (md5sums, Packages, .buildinfo) and the one reproducible across machines: a string sort by UTF-16
 * code unit differs for characters beyond the Basic Multilingual Plane.
 */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
