/**
 * PREMIRRORS-style URL rewriting: the longest matching prefix wins, so a site can mirror all of
 * github.com and still point one project somewhere else. Recipes keep their production URLs.
 */
import type { Mirror } from '../settings/settings.js';

export function applyMirrors(url: string, mirrors: readonly Mirror[]): string {
  let best: Mirror | undefined;
  for (const m of mirrors) {
    if (url.startsWith(m.from) && (!best || m.from.length > best.from.length)) best = m;
  }
  return best ? best.to + url.slice(best.from.length) : url;
}

/** For messages: the URL as fetched, and where it came from when a mirror rewrote it. */
export function describeUrl(url: string, mirrors: readonly Mirror[]): string {
  const fetched = applyMirrors(url, mirrors);
  return fetched === url ? url : `${fetched} (mirror of ${url})`;
}
