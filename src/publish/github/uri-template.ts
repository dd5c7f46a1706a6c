/**
 * RFC 6570 URI Template expansion, level 3 (all operators, no `:prefix` or `*` explode modifiers),
 * enough for GitHub's hypermedia templates such as a release's
 * `upload_url`: `https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}`.
 * Undefined variables are left out; an expression whose variables are all undefined expands to "".
 */
type Vars = Record<string, string | number | undefined>;

const OPERATORS: Record<string, { first: string; sep: string; named: boolean; ifEmpty: string; reserved: boolean }> = {
  '': { first: '', sep: ',', named: false, ifEmpty: '', reserved: false },
  '+': { first: '', sep: ',', named: false, ifEmpty: '', reserved: true },
  '#': { first: '#', sep: ',', named: false, ifEmpty: '', reserved: true },
  '.': { first: '.', sep: '.', named: false, ifEmpty: '', reserved: false },
  '/': { first: '/', sep: '/', named: false, ifEmpty: '', reserved: false },
  ';': { first: ';', sep: ';', named: true, ifEmpty: '', reserved: false },
  '?': { first: '?', sep: '&', named: true, ifEmpty: '=', reserved: false },
  '&': { first: '&', sep: '&', named: true, ifEmpty: '=', reserved: false },
};

/** Unreserved characters stay; everything else is percent-encoded as UTF-8. */
function encodeUnreserved(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Unreserved and reserved characters stay, and so do existing %XX triplets. */
function encodeReserved(s: string): string {
  return s
    .split(/(%[0-9A-Fa-f]{2})/g)
    .map((part) => (/^%[0-9A-Fa-f]{2}$/.test(part) ? part : encodeURI(part).replace(/%5B/g, '[').replace(/%5D/g, ']')))
    .join('');
}

export function expandUriTemplate(template: string, vars: Vars): string {
  return template.replace(/\{([^{}]*)\}/g, (_m, expr: string) => {
    const opChar = /^[+#./;?&]/.test(expr) ? expr[0]! : '';
    const op = OPERATORS[opChar]!;
    const parts: string[] = [];
    for (const name of expr.slice(opChar.length).split(',')) {
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`URI template ${template}: unsupported variable "${name}" (level 4 modifiers are not supported)`);
      const raw = vars[name];
      if (raw === undefined) continue;
      const value = (op.reserved ? encodeReserved : encodeUnreserved)(String(raw));
      if (!op.named) parts.push(value);
      else parts.push(value === '' ? `${name}${op.ifEmpty}` : `${name}=${value}`);
    }
    return parts.length === 0 ? '' : op.first + parts.join(op.sep);
  });
}
