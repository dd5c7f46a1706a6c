/**
 * `crio-build recipes list` and `recipes show <name>`: what the loaded recipes say, as text or JSON.
 */
import type { Argv, CommandModule } from 'yargs';
import { stringify } from 'yaml';
import { quote, UsageError } from '../../core/errors.js';
import { loadRecipes, type RecipeSet } from '../../recipe/loader.js';
import { commonOptions, recipesDir, type CommonArgs } from '../options.js';
import { table } from '../render.js';

export const recipesCommand: CommandModule = {
  command: 'recipes',
  describe: 'list or show recipes',
  builder: (y: Argv) =>
    commonOptions(y)
      .command<CommonArgs & { json: boolean }>(
        'list',
        'list branch, component and toolchain recipes',
        (yy) => yy.option('json', { type: 'boolean', default: false }) as unknown as Argv<CommonArgs & { json: boolean }>,
        async (a) => {
          process.stdout.write(recipesList(await loadRecipes(recipesDir(a)), a.json) + '\n');
        },
      )
      .command<CommonArgs & { name: string; json: boolean }>(
        'show <name>',
        'show one recipe as loaded (with defaults filled in)',
        (yy) => yy.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }) as unknown as Argv<CommonArgs & { name: string; json: boolean }>,
        async (a) => {
          process.stdout.write(recipeShow(await loadRecipes(recipesDir(a)), a.name, a.json) + '\n');
        },
      )
      .demandCommand(1, 'say `recipes list` or `recipes show <name>`'),
  handler: () => undefined,
};

function recipesList(set: RecipeSet, json: boolean): string {
  const branches = [...set.branches.values()].map(({ recipe: b, file }) => ({
    name: b.name,
    kubernetes: followed(b.kubernetes),
    toolchain: followed(b.toolchain),
    components: Object.entries(b.components).map(([n, r]) => `${n}@${'tag' in r ? r.tag : 'branch' in r ? r.branch : 'follow' in r ? `(${r.follow})` : `(in ${r.inTreeOf})`}`),
    file,
  }));
  const components = [...set.components.values()].map(({ recipe: c, file }) => ({ name: c.name, source: c.source.git, releases: Object.keys(c.releases), file }));
  const toolchains = [...set.toolchains.values()].map(({ recipe: t, file }) => ({ name: t.name, version: t.version, arches: Object.keys(t.archives), file }));
  if (json) return JSON.stringify({ branches, components, toolchains }, null, 2);
  return [
    'Branches:',
    table(['name', 'kubernetes', 'toolchain', 'components'], branches.map((b) => [b.name, b.kubernetes, b.toolchain, b.components.join(' ')])),
    '',
    'Components:',
    table(['name', 'pinned releases', 'source'], components.map((c) => [c.name, releaseRanges(c.releases) || '(branch heads)', c.source])),
    '',
    'Toolchains:',
    table(['name', 'version', 'arches'], toolchains.map((t) => [t.name, t.version, t.arches.join(' ')])),
  ].join('\n');
}

/**
 * Pinned tags, an unbroken run of one release line as a range ("v1.13.0…v1.13.12"): cri-o pins every public tag of six
 * branches, too many for one table cell. `recipes show <component>` lists each.
 */
function releaseRanges(tags: string[]): string {
  const lines = new Map<string, string[]>();
  for (const t of tags) {
    const line = t.replace(/\.[^.]*$/, '');
    lines.set(line, [...(lines.get(line) ?? []), t]);
  }
  const patch = (t: string) => Number(t.slice(t.lastIndexOf('.') + 1));
  // Only an unbroken run of patch releases is shown as a range; anything else is listed.
  const unbroken = (l: string[]) => l.every((t, i) => i === 0 || patch(t) === patch(l[i - 1] as string) + 1);
  return [...lines.values()].map((l) => (l.length > 2 && unbroken(l) ? `${l[0]}…${l[l.length - 1]}` : l.join(' '))).join(' ');
}

/** A value the recipe states, or where a moving branch reads it from. */
function followed(v: string | { follow: string }): string {
  return typeof v === 'string' ? v : `(from ${v.follow})`;
}

function recipeShow(set: RecipeSet, name: string, json: boolean): string {
  const found = set.branches.get(name) ?? set.components.get(name) ?? set.toolchains.get(name);
  if (!found) {
    const all = [...set.branches.keys(), ...set.components.keys(), ...set.toolchains.keys()].sort();
    throw new UsageError(`no recipe named ${quote(name)}`, `recipes: ${all.join(', ')}`);
  }
  return json ? JSON.stringify(found.recipe, null, 2) : `# ${found.file}\n${stringify(found.recipe).trimEnd()}`;
}
