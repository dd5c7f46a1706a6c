/**
 * Host-side children (git, xz, debootstrap, dpkg-shlibdeps) never see crio-build's secrets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childEnv, run as runProc, SECRET_ENV } from '../../src/core/run.js';

test('a child started through runProc has no GITHUB_TOKEN or signing key in its environment', async () => {
  const saved = Object.fromEntries(SECRET_ENV.map((k) => [k, process.env[k]]));
  for (const k of SECRET_ENV) process.env[k] = `SECRET-${k}-x9`;
  process.env.CRIO_BUILD_HARMLESS = 'kept';
  try {
    const lines: string[] = [];
    const r = await runProc('sh', ['-c', 'env'], { onLine: (l) => lines.push(l) });
    assert.equal(r.code, 0);
    const env = lines.join('\n') + r.tail.join('\n');
    assert.match(env, /^CRIO_BUILD_HARMLESS=kept$/m, 'the rest of the environment is passed on');
    for (const k of SECRET_ENV) assert.doesNotMatch(env, new RegExp(`SECRET-${k}`), k);
    assert.deepEqual(SECRET_ENV.filter((k) => k in childEnv()), []);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    delete process.env.CRIO_BUILD_HARMLESS;
  }
});
