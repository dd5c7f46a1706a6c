/**
 * Shared tables for the hostile-input suites: hostile strings, wrong-typed values, hostile YAML
 * documents, and a small seeded generator that mutates valid documents (the real recipes, a
 * settings file, a lock record) by replacing values, deleting, adding and renaming keys.
 * No dependency: the generator is mulberry32, so a failing case is reproduced by its seed alone.
 */
import { parseDocument, isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';

export interface Hostile {
  label: string;
  value: string;
  /** False when the value cannot travel in argv (NUL, lone surrogates are changed by the OS or Node). */
  argv: boolean;
  /** False when the value is a valid git ref or directory name all the same (only `ARM64`). */
  badRef: boolean;
}

const h = (label: string, value: string, argv = true, badRef = true): Hostile => ({ label, value, argv, badRef });

/**
 * Every value here is a bad branch, arch, strategy, component, tag, toolchain or asset name: each
 * has a shell metacharacter, whitespace, a control or invisible character, a `..` or `/`, a leading
 * dash or dot, is empty, or is far too long. (A test checks the name grammars refuse all of them.)
 */
export const HOSTILE_STRINGS: readonly Hostile[] = [
  h('semicolon command', 'release-1.18;rm -rf /'),
  h('pipe', 'arm64|sh'),
  h('and-and', 'x&&reboot'),
  h('background', 'x&'),
  h('dollar paren', '$(id)'),
  h('dollar brace', '${HOME}'),
  h('backticks', '`id`'),
  h('redirects', '<in >out'),
  h('star glob', '*'),
  h('question glob', 'arm?4'),
  h('bang', '!arm64'),
  h('braces', '{arm64,amd64}'),
  h('single quote', "arm'64"),
  h('double quote', 'arm"64'),
  h('backslash', 'arm\\64'),
  h('hash', '#arm64'),
  h('tilde', '~root'),
  h('space', 'release 1.18'),
  h('leading space', ' arm64'),
  h('trailing space', 'arm64 '),
  h('tab', 'arm\t64'),
  h('newline', 'arm64\nFAKE: injected line'),
  h('carriage return', 'arm64\rrelease-1.18'),
  h('NUL', 'arm64\u0000x', false),
  h('ANSI escape', '\u001b[31mred\u001b[0m'),
  h('OSC title escape', '\u001b]0;pwned\u0007'),
  h('DEL', 'arm\u007f64'),
  h('C1 NEL', 'arm\u008564'),
  h('dot dot', '..'),
  h('dot', '.'),
  h('parent path', '../x'),
  h('deep parent path', '../../../../etc/passwd'),
  h('inner parent', 'release-1.18/../../x'),
  h('absolute', '/abs'),
  h('etc passwd', '/etc/passwd'),
  h('dot slash', './release-1.18'),
  h('leading dash', '-rf'),
  h('leading double dash', '--force'),
  h('lone dash', '-'),
  h('leading dot', '.hidden'),
  h('10k chars', 'a'.repeat(10_000)),
  h('10k newlines', '\n'.repeat(10_000)),
  h('cyrillic lookalike', 'relеase-1.18'),
  h('fullwidth lookalike', 'ａrm64'),
  h('RTL override', 'release-1.18\u202e81.1-esaeler'),
  h('zero-width space', 'arm\u200b64'),
  h('BOM', '\ufeffarm64'),
  h('line separator', 'arm\u202864'),
  h('lone surrogate', 'arm\ud80064', false),
  h('emoji', 'arm64🚀'),
  h('empty', ''),
  h('only spaces', '   '),
  h('percent encoding', 'arm%2F64'),
  h('colon', 'arm:64'),
  h('plus and tilde', 'v1.0+git~1'),
  h('uppercase', 'ARM64', true, false),
];

/**
 * A representative subset for the end-to-end CLI runs (each spawns the real launcher, about a second
 * of CPU): one of each kind of hostility. The parsers get the whole table.
 */
export const CLI_STRINGS: readonly Hostile[] = HOSTILE_STRINGS.filter((s) =>
  ['semicolon command', 'backticks', 'space', 'newline', 'ANSI escape', 'C1 NEL', 'deep parent path', 'absolute', 'leading dash', '10k chars', 'cyrillic lookalike', 'RTL override', 'empty'].includes(s.label),
);

/** Values of the wrong type for any field (each is invalid wherever the schema expects something else). */
export const WRONG_TYPES: readonly { label: string; value: unknown }[] = [
  { label: 'number', value: 42 },
  { label: 'negative float', value: -1.5 },
  { label: 'huge number', value: 1e308 },
  { label: 'true', value: true },
  { label: 'false', value: false },
  { label: 'null', value: null },
  { label: 'empty list', value: [] },
  { label: 'list of strings', value: ['a', 'b'] },
  { label: 'empty map', value: {} },
  { label: 'map', value: { a: 1 } },
  { label: 'nested lists', value: [[[[['deep']]]]] },
];

/** The JS type of a YAML value, for deciding what "another type" is. */
export function typeOf(v: unknown): 'string' | 'number' | 'boolean' | 'null' | 'list' | 'map' {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'map';
  return typeof v as 'string' | 'number' | 'boolean';
}

// ---- Hostile YAML documents -------------------------------------------------------------------

export interface HostileDoc {
  label: string;
  text: string;
  /** What the error must say (besides file:line). */
  expect: RegExp;
}

/** A billion-laughs document: 9 levels of 9 aliases each, 9^9 strings if expanded. */
export function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const name = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Documents hostile to any of the YAML parsers (recipes, settings, locks): each must be refused
 * with file, line and a message matching `expect`, quickly and without a crash.
 */
export const HOSTILE_YAML_DOCS: readonly HostileDoc[] = [
  { label: 'billion laughs alias bomb', text: billionLaughs(), expect: /alias/i },
  { label: 'alias bomb inside a field', text: `kind: branch\nname: x\nx: &x [a, a, a, a, a, a, a, a]\n` + Array.from({ length: 60 }, (_, i) => `y${i}: *x`).join('\n') + '\n', expect: /alias/i },
  { label: 'unresolved alias', text: 'kind: *nowhere\n', expect: /Unresolved alias/ },
  { label: 'deeply nested flow lists', text: `kind: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`, expect: /invalid YAML|expected|nest|stack/i },
  { label: 'deeply nested flow maps', text: `kind: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}\n`, expect: /invalid YAML|expected|nest|stack/i },
  { label: 'deeply nested block maps', text: Array.from({ length: 700 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n', expect: /invalid YAML|unknown key|nest|stack/i },
  { label: 'duplicate keys', text: 'kind: branch\nkind: component\n', expect: /Map keys must be unique/ },
  { label: 'duplicate nested keys', text: 'components:\n  conmon: {tag: v1}\n  conmon: {tag: v2}\n', expect: /Map keys must be unique/ },
  { label: '!!js/function tag', text: 'kind: !!js/function "function () { process.exit(1) }"\n', expect: /Unresolved tag/ },
  { label: '!!js/undefined tag', text: 'kind: !!js/undefined ""\n', expect: /Unresolved tag/ },
  { label: '!!python/object tag', text: 'kind: !!python/object/apply:os.system ["id"]\n', expect: /Unresolved tag/ },
  { label: 'local tag', text: 'kind: !shell "rm -rf /"\n', expect: /Unresolved tag/ },
  { label: '!!binary value', text: 'kind: !!binary aGVsbG8=\n', expect: /kind: /i },
  { label: '!!set value', text: 'kind: !!set {a, b}\n', expect: /kind: /i },
  { label: '!!timestamp value', text: 'kind: !!timestamp 2001-12-14\n', expect: /kind: /i },
  { label: 'merge key <<', text: 'base: &b {kind: branch}\n<<: *b\n', expect: /unknown key "<<"|unknown key "base"/ },
  { label: 'multiple documents', text: 'kind: branch\n---\nkind: component\n', expect: /multiple documents/ },
  { label: 'document end then garbage', text: 'kind: branch\n...\nkind: x\n', expect: /invalid YAML|multiple documents/ },
  { label: '__proto__ key at the top', text: '__proto__: {polluted: true}\n', expect: /unknown key "__proto__"/ },
  { label: '__proto__ key in a nested map', text: 'kind: branch\ncomponents:\n  __proto__: {tag: v1}\n', expect: /__proto__/ },
  { label: 'constructor and toString keys', text: 'constructor: 1\ntoString: 2\n', expect: /unknown key "constructor"|unknown key "toString"/ },
  { label: 'list key', text: '? [a, b]\n: c\n', expect: /unknown key|invalid name/ },
  { label: 'map key', text: '? {a: b}\n: c\n', expect: /unknown key|invalid name/ },
  { label: 'null key', text: '~: c\n', expect: /unknown key|invalid name/ },
  { label: 'key with control characters', text: '"a\\e[31m\\nb\\u202e": 1\n', expect: /unknown key "a\\u001b\[31m\\nb\\u202e"/ },
  { label: '10k-character explicit key', text: `? "${'k'.repeat(10_000)}"\n: 1\n`, expect: /unknown key "k+…\(\d+ more\)…k+"/ },
  { label: '10k-character implicit key', text: `"${'k'.repeat(10_000)}": 1\n`, expect: /invalid YAML/ },
  { label: '10k-character plain key', text: `${'k'.repeat(10_000)}: 1\n`, expect: /invalid YAML/ },
  { label: 'empty document', text: '', expect: /\(document\): expected object/ },
  { label: 'comments only', text: '# nothing\n', expect: /\(document\): expected object/ },
  { label: 'scalar document', text: 'just a string\n', expect: /\(document\): expected object, received string/ },
  { label: 'list document', text: '- kind: branch\n', expect: /\(document\): expected object, received array/ },
  { label: 'tabs as indentation', text: 'kind:\n\tname: x\n', expect: /invalid YAML/ },
  { label: 'raw NUL byte', text: 'kind: bra\u0000nch\n', expect: /invalid YAML|kind: / },
  { label: 'raw escape bytes', text: 'kind: \u001b[31mbranch\n', expect: /invalid YAML|kind: / },
  { label: 'unclosed flow', text: 'kind: [branch\n', expect: /invalid YAML/ },
  { label: 'YAML 1.1 directive', text: '%YAML 1.1\n---\nkind: yes\n', expect: /kind: |invalid YAML/ },
  { label: 'huge number', text: `kind: ${'9'.repeat(5000)}\n`, expect: /kind: / },
];

/** The subset of documents the CLI runs get (the parsers get all of them). */
export const CLI_DOCS: readonly HostileDoc[] = HOSTILE_YAML_DOCS.filter((d) =>
  ['billion laughs alias bomb', 'deeply nested flow lists', 'duplicate keys', '!!js/function tag', 'merge key <<', 'multiple documents', '__proto__ key in a nested map', 'key with control characters', '10k-character explicit key', 'empty document'].includes(d.label),
);

// ---- Valid documents and their mutations --------------------------------------------------------

/** mulberry32: tiny, fast, good enough to pick mutations; the same seed gives the same cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rng: () => number, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;

export type DataPath = (string | number)[];

export interface NodeAt {
  path: DataPath;
  node: Node;
  /** A map pair's value (it has a key that can be deleted or renamed). */
  inMap: boolean;
}

/** Every node of a document with its data path (map keys and list indexes). */
export function nodesOf(doc: Document): NodeAt[] {
  const out: NodeAt[] = [];
  const walk = (node: unknown, path: DataPath, inMap: boolean) => {
    if (!node || typeof node !== 'object') return;
    out.push({ path, node: node as Node, inMap });
    if (isMap(node)) {
      for (const pair of node.items) if (isScalar(pair.key)) walk(pair.value, [...path, String(pair.key.value)], true);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i], false));
    }
  };
  walk(doc.contents, [], false);
  return out;
}

/**
 * The lines (1-based) an error about `path` may point at: its key's and its value's (a block list
 * or map value starts on the line after its key). Empty when the path is not in the text.
 */
export function linesOfPath(text: string, path: DataPath): number[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, logLevel: 'silent' });
  let node: unknown = doc.contents;
  const lines: number[] = [];
  const lineOf = (n: unknown) => ((n as Node | null)?.range ? lc.linePos((n as Node).range![0]).line : undefined);
  for (const key of path) {
    lines.length = 0;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return [];
      lines.push(lineOf(pair.key) ?? 0);
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(key)];
      if (item === undefined) return [];
      node = item;
    } else return [];
    const v = lineOf(node);
    if (v !== undefined) lines.push(v);
  }
  return lines.filter((l) => l > 0);
}

export interface Mutation {
  /** What was done, for failure messages. */
  describe: string;
  /** Where: the data path of the changed, deleted or added entry. */
  path: DataPath;
  op: 'replace' | 'delete' | 'add' | 'rename' | 'wrap';
  /** Set when a string was put into a field whose name says it must be a safe name (see NAME_KEYS). */
  hostileName?: boolean;
  /** Set when a value was replaced by one of another type. */
  wrongType?: boolean;
  /** For a rename: the path the key had before. */
  touched?: DataPath;
}

/** Keys whose string values are names, refs, ids, URLs or versions: a hostile string is never valid there. */
export const NAME_KEYS = new Set(['kind', 'name', 'kubernetes', 'versionTags', 'toolchain', 'builder', 'strategy', 'language', 'type', 'tag', 'branch', 'commit', 'sha256', 'url', 'git', 'from', 'to', 'root', 'gopath', 'pinnedBy', 'resolvedAt']);

/** Keys a hostile key generator uses: typos, case changes, prototype names, hostile strings. */
function hostileKey(rng: () => number, near?: string): string {
  const choices = [
    () => (near ? near.slice(0, -1) : 'nam'),
    () => (near ? near.toUpperCase() : 'NAME'),
    () => (near ? `${near} ` : 'name '),
    () => '__proto__',
    () => 'constructor',
    () => 'toString',
    () => '<<',
    () => 'Bogus Key!',
    () => pick(rng, HOSTILE_STRINGS).value,
  ];
  return pick(rng, choices)();
}

function hostileValue(rng: () => number): { value: unknown; label: string } {
  if (rng() < 0.55) {
    const s = pick(rng, HOSTILE_STRINGS);
    return { value: s.value, label: `hostile string (${s.label})` };
  }
  const w = pick(rng, WRONG_TYPES);
  return { value: w.value, label: w.label };
}

const show = (p: DataPath) => (p.length ? p.map(String).join('.') : '(document)');

/**
 * Apply one random mutation to a parsed document (in place) and say what it was. The mutation
 * keeps the text well-formed YAML (the Document API writes it), so what is tested is validation.
 */
export function mutateOnce(doc: Document, rng: () => number, original: Document = doc): Mutation {
  const nodes = nodesOf(doc);
  const maps = nodes.filter((n) => isMap(n.node));
  const pairs = nodes.filter((n) => n.inMap);
  const roll = rng();
  if (roll < 0.5 || pairs.length === 0) {
    const target = pick(rng, nodes.filter((n) => n.path.length > 0));
    const before = target.node.toJSON() as unknown;
    // "Wrong type" is against the valid document: a value an earlier mutation put here does not count.
    const inOriginal = original.hasIn(target.path) ? (original.getIn(target.path, true) as Node | undefined) : undefined;
    const { value, label } = hostileValue(rng);
    doc.setIn(target.path, doc.createNode(value));
    const key = target.path.at(-1);
    return {
      op: 'replace',
      path: target.path,
      describe: `replace ${show(target.path)} (${typeOf(before)}) with ${label}`,
      hostileName: typeof key === 'string' && NAME_KEYS.has(key) && typeof value === 'string' && HOSTILE_STRINGS.some((s) => s.value === value && s.badRef),
      wrongType: inOriginal !== undefined && typeOf(inOriginal.toJSON()) !== typeOf(value),
    };
  }
  if (roll < 0.65) {
    const target = pick(rng, pairs);
    doc.deleteIn(target.path);
    return { op: 'delete', path: target.path, describe: `delete ${show(target.path)}` };
  }
  if (roll < 0.85) {
    const parent = pick(rng, maps);
    const key = hostileKey(rng);
    const { value, label } = hostileValue(rng);
    const path = [...parent.path, key];
    doc.setIn(path, doc.createNode(value));
    return { op: 'add', path, describe: `add key ${JSON.stringify(key).slice(0, 60)} = ${label} at ${show(parent.path)}` };
  }
  if (roll < 0.95) {
    const target = pick(rng, pairs);
    const old = String(target.path.at(-1));
    const key = hostileKey(rng, old);
    const parentPath = target.path.slice(0, -1);
    const parent = doc.getIn(parentPath, true) ?? doc.contents;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === old);
      if (pair) pair.key = doc.createNode(key);
    }
    return { op: 'rename', path: [...parentPath, key], touched: target.path, describe: `rename key ${show(target.path)} to ${JSON.stringify(key).slice(0, 60)}` };
  }
  const target = pick(rng, nodes.filter((n) => n.path.length > 0));
  const before = target.node.toJSON() as unknown;
  const wrapped = rng() < 0.5 ? [before] : { value: before };
  doc.setIn(target.path, doc.createNode(wrapped));
  return { op: 'wrap', path: target.path, describe: `wrap ${show(target.path)} in a ${Array.isArray(wrapped) ? 'list' : 'map'}` };
}

export interface MutatedDoc {
  text: string;
  mutations: Mutation[];
}

/** 1 to 3 mutations of a valid document. */
export function mutate(text: string, rng: () => number): MutatedDoc {
  const doc = parseDocument(text, { logLevel: 'silent' });
  const original = parseDocument(text, { logLevel: 'silent' });
  const n = 1 + Math.floor(rng() * 3);
  const mutations: Mutation[] = [];
  for (let i = 0; i < n; i++) {
    const m = mutateOnce(doc, rng, original);
    // A later change above or at an earlier one (deleted, replaced, renamed) may undo it: its
    // expectations no longer hold.
    for (const earlier of mutations) {
      if (isPrefix(m.touched ?? m.path, earlier.path)) {
        earlier.hostileName = false;
        earlier.wrongType = false;
      }
    }
    mutations.push(m);
  }
  return { text: doc.toString({ lineWidth: 0 }), mutations };
}

function isPrefix(prefix: DataPath, path: DataPath): boolean {
  return prefix.length <= path.length && prefix.every((k, i) => String(k) === String(path[i]));
}

/** Every map node's path (for "an unknown key at each level"). */
export function mapPaths(text: string): DataPath[] {
  return nodesOf(parseDocument(text, { logLevel: 'silent' })).filter((n) => isMap(n.node)).map((n) => n.path);
}

/** Every scalar leaf: its path and value (for "a wrong type at each field"). */
export function leaves(text: string): { path: DataPath; value: unknown }[] {
  return nodesOf(parseDocument(text, { logLevel: 'silent' }))
    .filter((n) => isScalar(n.node) && n.path.length > 0)
    .map((n) => ({ path: n.path, value: (n.node as { value: unknown }).value }));
}

/** The text with the value at `path` replaced (or a key added when it is not there). */
export function withValue(text: string, path: DataPath, value: unknown): string {
  const doc = parseDocument(text, { logLevel: 'silent' });
  doc.setIn(path, doc.createNode(value));
  return doc.toString({ lineWidth: 0 });
}

/** A settings file in the README's shape, valid under the config schema. */
export const VALID_CONFIG = `# crio-build settings for an air-gapped site
cacheDir: /var/cache/crio-build
mirrors:
  - from: https://github.com/
    to: file:///srv/mirror/github/
  - from: https://dl.google.com/go/
    to: http://mirror.example.internal/go/
toolchains:
  go1.13.10:
    version: "1.13.10-local"
    archives:
      arm64: { url: "file:///srv/go/go1.13.10.linux-arm64.tar.gz", sha256: f16f1994aadb2ecab8d6ab2a6a1ee4a7e87e8b8dfc1e74e4de4fe1dde0d37ba8 }
      amd64: { url: "http://mirror.example.internal/go/go1.13.10.linux-amd64.tar.gz", sha256: 8a4cbc9f2b95d114c38f6cbe94a45372d48c604b707db2057c787398dfbf8e7f }
components:
  conmon:
    releases:
      v2.0.11: { commit: 0123456789abcdef0123456789abcdef01234567 }
`;
