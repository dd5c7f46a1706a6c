/**
 * The import rule (.dependency-cruiser.cjs, ARCHITECTURE.md): src/ folders in data-flow order, each
 * importing only itself and the folders before it. The test command runs it on src/ before any
 * test (`pretest`); here it is shown to pass on src/ and to fail on an arrow against the flow, with
 * the real dependency-cruiser and the real config on a miniature tree.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

function depcruise(cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'err'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** A miniature tree: src/<from>/a.ts imports src/<to>/b.ts. */
async function tree(from: string, to: string): Promise<string> {
  const dir = await tempDir('crio-build-imports-');
  await copyFile(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  await mkdir(join(dir, 'src', from), { recursive: true });
  await mkdir(join(dir, 'src', to), { recursive: true });
  await writeFile(join(dir, 'src', to, 'b.ts'), 'export const b = 1;\n');
  await writeFile(join(dir, 'src', from, 'a.ts'), `import { b } from '../${to}/b.js';\nexport const a = b + 1;\n`);
  return dir;
}

describe('the import rule', () => {
  it('passes on src/ as it is', async () => {
    const r = await depcruise(ROOT);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /no dependency violations found/);
  });

  it('fails an import from an earlier stage to a later one, naming the arrow', async () => {
    for (const [from, to] of [['plan', 'package'], ['source', 'build'], ['hosts', 'build'], ['pipeline', 'cli'], ['core', 'recipe']]) {
      const r = await depcruise(await tree(from!, to!));
      assert.notEqual(r.code, 0, `${from} -> ${to} should fail:\n${r.out}`);
      assert.match(r.out, new RegExp(`not-in-allowed: src/${from}/a\\.ts → src/${to}/b\\.ts`));
    }
  });

  it('allows an import from a later stage to an earlier one', async () => {
    for (const [from, to] of [['package', 'plan'], ['build', 'hosts'], ['cli', 'pipeline'], ['index', 'package']]) {
      const r = await depcruise(await tree(from!, to!));
      assert.equal(r.code, 0, `${from} -> ${to} should pass:\n${r.out}`);
    }
  });

  it('fails an import into a folder the rule does not know', async () => {
    const r = await depcruise(await tree('plan', 'misc'));
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /not-in-allowed: src\/plan\/a\.ts → src\/misc\/b\.ts/);
  });
});
