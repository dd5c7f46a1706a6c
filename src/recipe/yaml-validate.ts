/**
 * Parse a YAML document and validate it against a zod schema, reporting every problem as
 * `file:line: field.path: what is wrong (allowed: ...)`. Shared by recipes, the user config and
 * the farm config, so every data file a user writes gets the same quality of error.
 */
import { readFile, stat } from 'node:fs/promises';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { InvalidInputError, printable, quote } from '../core/errors.js';

/** Recipes are small; anything larger is a mistake or an attack, refused before parsing. */
export const MAX_DATA_FILE_BYTES = 256 * 1024;
/** yaml's alias expansion limit: stops "billion laughs" documents from exploding in memory. */
const MAX_ALIAS_COUNT = 50;

export interface Problem {
  file: string;
  line: number;
  path: string;
  message: string;
}

export function formatProblems(problems: Problem[]): string {
  // File names, keys and messages can carry what a hostile file put there: escaped, one line each.
  return problems.map((p) => `${printable(p.file, 400)}:${p.line}: ${printable(p.path, 200) || '(document)'}: ${printable(p.message, 600)}`).join('\n');
}

export async function readDataFile(file: string): Promise<string> {
  const shown = printable(file, 400);
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidInputError(`${shown}: ${err.code === 'ENOENT' ? 'no such file' : `cannot be read (${err.code ?? err.message})`}`);
  });
  if (!info.isFile()) throw new InvalidInputError(`${shown}: not a regular file`);
  if (info.size > MAX_DATA_FILE_BYTES) {
    throw new InvalidInputError(`${shown}: ${info.size} bytes is too large (at most ${MAX_DATA_FILE_BYTES} bytes allowed)`);
  }
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InvalidInputError(`${shown}: cannot be read (${err.code ?? err.message})`);
  });
}

export interface Validated<T> {
  value: T;
  /** The line a data path stands on, for errors found after validation (e.g. cross-references). */
  lineOf(path: PropertyKey[]): number;
}

/** Validate YAML text; returns the typed value or throws InvalidInputError listing all problems. */
export function validateYaml<S extends z.ZodType>(file: string, text: string, schema: S): Validated<z.output<S>> {
  const lineCounter = new LineCounter();
  // logLevel 'error': problems are collected below and reported as ours, never printed by yaml itself.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true, logLevel: 'error' });
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;

  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) {
    throw new InvalidInputError(
      formatProblems(
        syntax.map((e) => ({ file, line: lineOf(e.pos[0]), path: '', message: `invalid YAML: ${firstLine(e.message)}` })),
      ),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new InvalidInputError(formatProblems([{ file, line: 1, path: '', message: `${firstLine((err as Error).message)} (aliases are limited to ${MAX_ALIAS_COUNT} expansions)` }]));
  }
  const lineOfPath = (path: PropertyKey[]) => {
    const { node, keyNode } = locate(doc, path);
    const target = keyNode ?? node;
    return target?.range ? lineOf(target.range[0]) : 1;
  };
  // No schema has a `__proto__` key, but records drop one silently instead of refusing it.
  const protoPaths = protoKeys(data);
  if (protoPaths.length > 0) {
    throw new InvalidInputError(
      formatProblems(protoPaths.map((path) => ({ file, line: lineOfPath(path), path: path.map(String).join('.'), message: 'unknown key "__proto__" (not allowed anywhere)' }))),
    );
  }
  const result = schema.safeParse(data);
  if (result.success) return { value: result.data, lineOf: lineOfPath };
  const problems = flattenIssues(result.error.issues as ZodIssueLike[]).map((issue) => {
    return {
      file,
      line: lineOfPath(issue.path),
      path: issue.path.map((k) => (String(k) === '' ? '""' : String(k))).join('.'),
      message: describeIssue(issue, schema),
    };
  });
  problems.sort((a, b) => a.line - b.line);
  throw new InvalidInputError(formatProblems(problems));
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  values?: unknown[];
  errors?: ZodIssueLike[][];
  issues?: ZodIssueLike[];
}

/** Union failures nest one issue list per alternative; report them as one issue at the union. */
function flattenIssues(issues: ZodIssueLike[]): ZodIssueLike[] {
  const out: ZodIssueLike[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      // One problem per key, each pointing at the key's own line.
      for (const key of issue.keys) out.push({ ...issue, keys: [key], path: [...issue.path, key] });
    } else out.push(issue);
  }
  return out;
}

function describeIssue(issue: ZodIssueLike, root: z.ZodType): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const parent = schemaAt(root, issue.path.slice(0, -1));
      // An object inside a union (a component's { tag } or { branch }) lists the forms instead.
      const allowed = parent ? (objectKeys(parent).length ? objectKeys(parent).join(', ') : unionShapes(parent).join(' or ')) : '';
      return `unknown key ${quote(String(issue.path.at(-1)))}${allowed ? ` (allowed: ${allowed})` : ''}`;
    }
    case 'invalid_value':
      return `${describeValue(issue)} (allowed: ${(issue.values ?? []).map((v) => JSON.stringify(v)).join(', ')})`;
    case 'invalid_union': {
      const here = schemaAt(root, issue.path);
      const options = here ? unionShapes(here) : [];
      const forms = options.join(' or ');
      // What the value was, as the alternatives' own type errors say ("received array", "received undefined").
      const received = (issue.errors ?? []).flat().filter((e) => e.path.length === 0).map((e) => /received (\w+)$/.exec(e.message)?.[1]).find((r) => r !== undefined);
      if (received === 'undefined') return `missing required field (expected ${forms || 'a value'})`;
      if (received && options.length && !options.some((o) => o === received || (received === 'object' && o.startsWith('{')))) return `expected ${forms}, received ${received}`;
      return `does not match any allowed form${options.length ? ` (allowed: ${forms})` : ''}`;
    }
    case 'invalid_key':
      // A record key (component, tag, variable name) that does not have the allowed form.
      return `invalid name ${quote(String(issue.path.at(-1)))}: ${(issue.issues ?? []).map((i) => describeIssue(i, root)).join('; ') || 'not allowed'}`;
    case 'invalid_type':
      if (/received undefined/.test(issue.message)) return `missing required field (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})`;
      return issue.message.replace(/^Invalid input: /, '');
    default:
      return issue.message.replace(/^Invalid string: /, '').replace(/^Invalid input: /, '');
  }
}

function describeValue(issue: ZodIssueLike): string {
  return issue.message.startsWith('Invalid option') ? 'not an allowed value' : issue.message;
}

type AnySchema = { def: Record<string, unknown> & { type: string }; shape?: Record<string, unknown> };

/** Walk a zod schema along a data path (object keys, record values, array items). */
function schemaAt(schema: unknown, path: PropertyKey[]): AnySchema | undefined {
  let s = unwrap(schema as AnySchema);
  for (const key of path) {
    if (!s) return undefined;
    const def = s.def;
    if (def.type === 'object') s = unwrap((s.shape as Record<string, AnySchema>)[String(key)]);
    else if (def.type === 'record') s = unwrap(def.valueType as AnySchema);
    else if (def.type === 'array') s = unwrap(def.element as AnySchema);
    else return undefined;
  }
  return s;
}

function unwrap(s: AnySchema | undefined): AnySchema | undefined {
  while (s && ['optional', 'default', 'nullable', 'prefault'].includes(s.def.type)) s = s.def.innerType as AnySchema;
  return s;
}

function objectKeys(s: AnySchema): string[] {
  return s.def.type === 'object' && s.shape ? Object.keys(s.shape) : [];
}

function unionShapes(s: AnySchema): string[] {
  if (s.def.type !== 'union') return [];
  return (s.def.options as AnySchema[]).map((o) => {
    const u = unwrap(o);
    return u && objectKeys(u).length ? `{ ${objectKeys(u).join(', ')} }` : (u?.def.type ?? 'value');
  });
}

/** Find the YAML node at a data path; for a missing key, the nearest existing parent. */
function locate(doc: Document, path: PropertyKey[]): { node?: Node; keyNode?: Node } {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return { node: node as Node, keyNode };
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
      const item = (node as { items: unknown[] }).items[Number(key)];
      if (item === undefined) return { node: node as Node, keyNode };
      keyNode = undefined;
      node = item;
    } else {
      return { node: node as Node | undefined, keyNode };
    }
  }
  return { node: (node as Node | undefined) ?? undefined, keyNode: isMap(node) ? keyNode : (node as Node | undefined) ?? keyNode };
}

/** Data paths of every own `__proto__` key (yaml makes them own properties). */
function protoKeys(data: unknown, path: PropertyKey[] = [], out: PropertyKey[][] = [], seen = new Set<object>()): PropertyKey[][] {
  if (data && typeof data === 'object' && !seen.has(data)) {
    seen.add(data);
    for (const key of Object.keys(data)) {
      if (key === '__proto__') out.push([...path, key]);
      else protoKeys((data as Record<string, unknown>)[key], [...path, key], out, seen);
    }
  }
  return out;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
