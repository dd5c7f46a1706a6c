/**
 * Load stage: recipes/*.yaml -> a validated, cross-checked RecipeSet.
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, printable, quote } from '../core/errors.js';
import {
  branchRecipe,
  componentRecipe,
  toolchainRecipe,
  type BranchRecipe,
  type ComponentRecipe,
  type ToolchainRecipe,
} from './schema.js';
import { formatProblems, readDataFile, validateYaml, type Problem } from './yaml-validate.js';

/** The component whose tree defines a branch: followed files are read from its commit. */
export const PRIMARY = 'cri-o';

/** The recipes shipped with crio-build (../../../recipes from dist/src/recipe). */
export const DEFAULT_RECIPES_DIR = fileURLToPath(new URL('../../../recipes', import.meta.url));

export interface Loaded<T> {
  recipe: T;
  file: string;
}

export interface RecipeSet {
  dir: string;
  branches: Map<string, Loaded<BranchRecipe>>;
  components: Map<string, Loaded<ComponentRecipe>>;
  toolchains: Map<string, Loaded<ToolchainRecipe>>;
}

const FOLDERS = {
  branches: branchRecipe,
  components: componentRecipe,
  toolchains: toolchainRecipe,
} as const;

export async function loadRecipes(dir: string = DEFAULT_RECIPES_DIR): Promise<RecipeSet> {
  const set: RecipeSet = { dir, branches: new Map(), components: new Map(), toolchains: new Map() };
  const problems: Problem[] = [];
  const lineOf = new Map<string, (path: PropertyKey[]) => number>();

  for (const folder of Object.keys(FOLDERS) as (keyof typeof FOLDERS)[]) {
    const files = await yamlFiles(join(dir, folder));
    for (const path of files) {
      const file = relative(process.cwd(), path) || path;
      // A file that does not validate throws here: its own problems are the whole report.
      const { value, lineOf: at } = validateYaml(file, await readDataFile(path), FOLDERS[folder]);
      const stem = path.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
      if (value.name !== stem) {
        problems.push({ file, line: at(['name']), path: 'name', message: `"${value.name}" must match the file name ${quote(stem)}` });
        continue;
      }
      lineOf.set(file, at);
      (set[folder] as Map<string, Loaded<typeof value>>).set(value.name, { recipe: value, file });
    }
  }
  problems.push(...crossCheck(set, (file, path) => lineOf.get(file)?.(path) ?? 1));
  if (problems.length) throw new InvalidInputError(formatProblems(problems));
  if (set.branches.size === 0) throw new InvalidInputError(`${printable(dir)}: no branch recipes found in ${printable(join(dir, 'branches'))}`);
  return set;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    // --recipes naming a file, or a folder that cannot be read: the user's input, not a crash.
    throw new InvalidInputError(`${printable(dir)}: cannot read this recipes folder (${err.code === 'ENOTDIR' ? 'not a directory' : (err.code ?? err.message)})`);
  });
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => join(dir, n));
}

/** References between recipes: components, tags and toolchains a branch names must exist. */
function crossCheck(set: RecipeSet, lineOf: (file: string, path: PropertyKey[]) => number): Problem[] {
  const problems: Problem[] = [];
  const known = (m: Map<string, unknown>) => [...m.keys()].sort().join(', ') || '(none)';
  for (const { recipe: b, file } of set.branches.values()) {
    const at = (path: PropertyKey[], message: string) => problems.push({ file, line: lineOf(file, path), path: path.join('.'), message });
    if (typeof b.toolchain === 'string' && !set.toolchains.has(b.toolchain)) at(['toolchain'], `unknown toolchain "${b.toolchain}" (known: ${known(set.toolchains)})`);
    if (typeof b.kubernetes !== 'string' && b.versionTags) at(['versionTags'], 'a branch that follows its Kubernetes minor takes its release tags from it: drop versionTags');
    for (const [name, ref] of Object.entries(b.components)) {
      const component = set.components.get(name);
      if (!component) {
        at(['components', name], `unknown component "${name}" (known: ${known(set.components)})`);
        continue;
      }
      if ('inTreeOf' in ref && (ref.inTreeOf === name || !Object.hasOwn(b.components, ref.inTreeOf) || !('branch' in b.components[ref.inTreeOf]! || 'tag' in b.components[ref.inTreeOf]!))) {
        at(['components', name, 'inTreeOf'], `"${ref.inTreeOf}" must be another component this branch builds from a tag or branch (its components: ${Object.keys(b.components).join(', ')})`);
      }
      if ('follow' in ref && (name === PRIMARY || !b.components[PRIMARY] || !('branch' in b.components[PRIMARY] || 'tag' in b.components[PRIMARY]))) {
        at(['components', name, 'follow'], `a followed version is read from ${PRIMARY}'s tree: the branch must build ${PRIMARY} from a tag or branch`);
      }
      if ('tag' in ref && !Object.hasOwn(component.recipe.releases, ref.tag)) {
        const tags = Object.keys(component.recipe.releases).sort().join(', ') || '(none)';
        at(['components', name, 'tag'], `tag "${ref.tag}" is not pinned in ${component.file} (pinned: ${tags})`);
      }
    }
    for (const [name, o] of Object.entries(b.overrides)) {
      if (!Object.hasOwn(b.components, name)) at(['overrides', name], `override for "${name}", which this branch does not build (its components: ${Object.keys(b.components).join(', ')})`);
      if (o.toolchain && !set.toolchains.has(o.toolchain)) at(['overrides', name, 'toolchain'], `unknown toolchain "${o.toolchain}" (known: ${known(set.toolchains)})`);
    }
  }
  for (const { recipe: t, file } of set.toolchains.values()) {
    if (!t.archives.amd64 && !t.archives.arm64) problems.push({ file, line: lineOf(file, ['archives']), path: 'archives', message: 'at least one of amd64, arm64 is required' });
  }
  return problems;
}
