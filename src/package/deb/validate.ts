// Syntax checks for control field values, so that a bad recipe fails while
// packaging with a message naming the field, instead of producing a .deb that
// dpkg rejects on the Pi. Rules follow Debian policy 5.6 and dpkg's parsers.

export class ControlFieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`control field ${field}: ${message}`);
    this.name = 'ControlFieldError';
  }
}

// Policy 5.6.1: at least two characters, lower case, starts alphanumeric.
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
// Debian architecture names (dpkg-architecture -L) are lower-case words with
// hyphens; "any" and wildcards only make sense in source packages.
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/;
// C0 controls and DEL: newline and CR would inject fields, the rest confuse tools.
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;

export function checkPackageName(field: string, value: string): void {
  if (!PACKAGE_NAME.test(value)) {
    throw new ControlFieldError(field, `"${value}" is not a package name: allowed are lower-case letters, digits and "+-." , at least 2 characters, starting with a letter or digit`);
  }
}

/** dpkg's parseversion(): [epoch:]upstream[-revision]. */
export function checkVersion(field: string, value: string): void {
  const fail = (why: string): never => {
    throw new ControlFieldError(field, `"${value}" is not a version (${why}); expected [epoch:]upstream[-revision], upstream starting with a digit and made of letters, digits and ".+~-:", revision of letters, digits and ".+~"`);
  };
  if (value === '' || /\s/.test(value)) fail('empty or contains whitespace');
  let rest = value;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const epoch = rest.slice(0, colon);
    if (!/^[0-9]+$/.test(epoch) || Number(epoch) > 2147483647) fail('epoch must be a non-negative integer');
    rest = rest.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : undefined;
  if (upstream === '') fail('empty upstream version');
  if (!/^[0-9]/.test(upstream)) fail('upstream version must start with a digit');
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream)) fail('invalid character in upstream version');
  if (revision !== undefined && !/^[A-Za-z0-9.+~]+$/.test(revision)) fail('empty revision or invalid character in it');
}

export function checkArchitecture(field: string, value: string): void {
  if (!ARCHITECTURE.test(value) || value === 'any') {
    throw new ControlFieldError(field, `"${value}" is not a binary package architecture: allowed is one Debian architecture name (amd64, arm64, armhf, ...) or "all"`);
  }
}

/** A single-line value: no control characters (no newline injection), no
 * surrounding whitespace, not empty. */
export function checkSingleLine(field: string, value: string): void {
  if (CONTROL_CHARS.test(value)) {
    throw new ControlFieldError(field, 'must be a single line without control characters (newline, CR, tab, ...)');
  }
  if (value.trim() !== value || value === '') {
    throw new ControlFieldError(field, 'must be non-empty and have no leading or trailing whitespace');
  }
}

export function checkOneOf(field: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value)) {
    throw new ControlFieldError(field, `"${value}" is not allowed: use one of ${allowed.join(', ')}`);
  }
}

export function checkMaintainer(field: string, value: string): void {
  checkSingleLine(field, value);
  if (!/^[^<>]*[^\s<>] <[^<>\s@]+@[^<>\s@]+>$/.test(value)) {
    throw new ControlFieldError(field, `"${value}" must have the form "Full Name <user@example.org>"`);
  }
}

export function checkSection(field: string, value: string): void {
  if (!/^([a-z0-9-]+\/)?[a-z0-9][a-z0-9+._-]*$/.test(value)) {
    throw new ControlFieldError(field, `"${value}" is not a section: allowed are [area/]name in lower case (e.g. admin, contrib/net)`);
  }
}

export function checkHomepage(field: string, value: string): void {
  checkSingleLine(field, value);
  if (!/^https?:\/\/[^\s]+$/.test(value)) {
    throw new ControlFieldError(field, `"${value}" must be an http or https URL`);
  }
}

const RELATION_OPS = ['<<', '<=', '=', '>=', '>>'];
// name[:archqual] [(op version)]. Build profiles and [arch] lists belong in
// source packages only; dpkg-gencontrol strips them from binary packages.
const RELATION = /^([a-z0-9][a-z0-9+.-]+)(:[a-z0-9-]+)?(?:\s*\(\s*(<<|<=|>=|>>|=|<|>)\s*([^\s()]+)\s*\))?$/;

/**
 * A relationship field: comma-separated relations; `alternatives` says
 * whether "a | b" is allowed (only in the depends-like fields), `onlyEquals`
 * restricts versions to "=" (Provides, Built-Using).
 */
export function checkRelations(field: string, value: string, opts: { alternatives: boolean; onlyEquals: boolean }): void {
  checkSingleLine(field, value);
  for (const part of value.split(',')) {
    const alternatives = part.split('|');
    if (alternatives.length > 1 && !opts.alternatives) {
      throw new ControlFieldError(field, `"${part.trim()}": alternatives ("|") are not allowed in ${field}`);
    }
    for (const alt of alternatives) {
      const m = RELATION.exec(alt.trim());
      if (!m) {
        throw new ControlFieldError(field, `"${alt.trim()}" is not a relation: expected "package[:arch] [(op version)]" with op one of ${RELATION_OPS.join(' ')}, separated by ","`);
      }
      const op = m[3];
      const version = m[4];
      if (op === undefined || version === undefined) continue;
      if (!RELATION_OPS.includes(op)) {
        throw new ControlFieldError(field, `"${alt.trim()}": operator "${op}" is obsolete; use one of ${RELATION_OPS.join(' ')}`);
      }
      if (opts.onlyEquals && op !== '=') {
        throw new ControlFieldError(field, `"${alt.trim()}": only "=" versions are allowed in ${field}`);
      }
      checkVersion(field, version);
    }
  }
}
