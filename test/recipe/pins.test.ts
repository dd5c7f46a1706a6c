/**
 * What the real recipes promise: every tag a branch uses is pinned to a commit (no trust on first
 * use left where a public record exists), every cri-o release tag of 1.13 ... 1.18 is pinned and
 * builds through its branch's recipe, each pin and companion choice carries a citation, and the
 * readers for a branch that follows its own tree (main) read what cri-o's files say.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SourceError, UsageError } from '../../src/core/errors.js';
import { dependencyVersion, goDirective, minorOf, toolchainFor, versionConst } from '../../src/recipe/follow.js';
import { DEFAULT_RECIPES_DIR, loadRecipes } from '../../src/recipe/loader.js';
import { findBranch } from '../../src/source/resolver.js';

describe('the real recipes: pins', () => {
  test('every tag a branch builds is pinned to a commit; no release is trusted on first use', async () => {
    const set = await loadRecipes();
    for (const c of set.components.values()) {
      for (const [tag, pin] of Object.entries(c.recipe.releases)) {
        assert.ok('commit' in pin, `${c.file}: ${tag} is not pinned to a commit`);
      }
    }
    for (const { recipe: b } of set.branches.values()) {
      for (const [name, ref] of Object.entries(b.components)) {
        if ('tag' in ref) assert.ok('commit' in set.components.get(name)!.recipe.releases[ref.tag]!, `${b.name}: ${name} ${ref.tag}`);
      }
    }
  });

  test('every cri-o release of 1.13 ... 1.18 is pinned, and each is a build target of its branch', async () => {
    const set = await loadRecipes();
    const releases = Object.keys(set.components.get('cri-o')!.recipe.releases);
    const last: Record<string, number> = { '13': 12, '14': 12, '15': 4, '16': 6, '17': 5, '18': 6 };
    for (const [minor, n] of Object.entries(last)) {
      for (let patch = 0; patch <= n; patch++) {
        const tag = `v1.${minor}.${patch}`;
        assert.ok(releases.includes(tag), `${tag} is not pinned`);
        const target = findBranch(set, tag);
        assert.equal(target.name, tag, 'the release is named after the tag');
        assert.deepEqual(target.components['cri-o'], { tag });
        assert.equal(target.kubernetes, `1.${minor}`, 'built with the recipe of the branch it belongs to');
      }
    }
    assert.throws(() => findBranch(set, 'v1.18.99'), (e: Error) => e instanceof UsageError && /v1\.18\.6/.test(e.hint ?? ''));
    assert.throws(() => findBranch(set, 'v1.9.0'), UsageError);
  });

  test('each pin and each companion choice cites where it was read', () => {
    for (const file of ['components/cri-o.yaml', 'components/conmon.yaml', 'components/cni-plugins.yaml', 'components/cri-tools.yaml', 'toolchains/go1.13.10.yaml', 'toolchains/go1.26.4.yaml']) {
      const text = readFileSync(join(DEFAULT_RECIPES_DIR, file), 'utf8');
      const pins = [...text.matchAll(/^\s*(?:v[\d.]+: \{ commit|sha256): /gm)];
      assert.ok(pins.length > 0, `${file} pins something`);
      // A comment above the releases (or the pin) says where the values come from.
      assert.match(text, /#[^\n]*(github\.com|docker-library|refs\/tags|ls-remote)/, `${file} cites its source`);
    }
    for (const branch of ['release-1.13', 'release-1.14', 'release-1.15', 'release-1.16', 'release-1.17', 'release-1.18']) {
      const text = readFileSync(join(DEFAULT_RECIPES_DIR, 'branches', `${branch}.yaml`), 'utf8');
      for (const companion of ['conmon', 'cri-tools']) {
        const lines = text.split('\n');
        const at = lines.findIndex((l) => new RegExp(`^  ${companion}: `).test(l));
        assert.ok(at > 0, `${branch} names ${companion}`);
        assert.match(lines.slice(at - 3, at).join('\n'), /#.*(\.yml|\.sh|Dockerfile|scripts\/|Makefile|release for Kubernetes|main\.yml)/, `${branch}: ${companion}'s choice is cited`);
      }
    }
  });

  test('the 1.x branches keep go1.13.10 and CNI plugins v0.8.1; main follows its tree', async () => {
    const set = await loadRecipes();
    for (const { recipe: b } of set.branches.values()) {
      if (b.name === 'main') {
        assert.deepEqual(b.toolchain, { follow: 'go.mod' });
        assert.deepEqual(b.kubernetes, { follow: 'internal/version/version.go' });
        for (const c of ['conmon', 'cni-plugins', 'cri-tools']) assert.deepEqual(b.components[c], { follow: 'dependencies.yaml' });
        continue;
      }
      assert.equal(b.toolchain, 'go1.13.10', b.name);
      assert.deepEqual(b.components['cni-plugins'], { tag: 'v0.8.1' }, b.name);
    }
  });
});

describe('following a moving branch: the readers', () => {
  test('go.mod: the go directive, three-part or two-part', () => {
    assert.equal(goDirective('module github.com/cri-o/cri-o\n\ngo 1.26.4\n\nrequire (\n', 'go.mod'), '1.26.4');
    assert.equal(goDirective('go 1.26\n', 'go.mod'), '1.26');
    assert.equal(goDirective('module x\ngo 1.14 // comment\n', 'go.mod'), '1.14');
    assert.throws(() => goDirective('module x\n', 'x@abc:go.mod'), (e: Error) => e instanceof SourceError && /x@abc:go\.mod/.test(e.message));
  });

  test('the version file: const Version, and the minor it serves', () => {
    const file = 'package version\n\n// Version is the version of the build.\nconst Version = "1.37.0"\n';
    assert.equal(versionConst(file, 'v.go'), '1.37.0');
    assert.equal(minorOf('1.37.0'), '1.37');
    assert.throws(() => versionConst('package version\n', 'v.go'), SourceError);
  });

  test('dependencies.yaml: the version for a name, or which names it has', () => {
    const text = 'dependencies:\n  - name: go\n    version: 1.26.4\n  - name: conmon\n    version: v2.1.13\n    refPaths:\n      - path: scripts/versions\n        match: conmon\n';
    assert.equal(dependencyVersion(text, 'conmon', 'deps'), 'v2.1.13');
    assert.throws(() => dependencyVersion(text, 'cri-tools', 'deps'), (e: Error) => e instanceof SourceError && /go, conmon/.test(e.hint ?? ''));
    assert.throws(() => dependencyVersion('a: &x [*x]\n', 'conmon', 'deps'), SourceError);
  });

  test('the toolchain for a go directive: exact, else the newest patch of that minor at or above it', () => {
    const have = new Map([['go1.13.10', '1.13.10'], ['go1.26.4', '1.26.4'], ['go1.26.10', '1.26.10']]);
    assert.equal(toolchainFor('1.26.4', have), 'go1.26.4');
    assert.equal(toolchainFor('1.26', have), 'go1.26.10');
    assert.equal(toolchainFor('1.26.5', have), 'go1.26.10');
    assert.equal(toolchainFor('1.27.0', have), undefined);
    assert.equal(toolchainFor('1.26.11', have), undefined);
  });
});
