/**
 * The GitHub Actions workflows, checked twice: by GitHub's own workflow parser
 * (@actions/workflow-parser, what the Actions language server runs: schema, expression contexts,
 * cron syntax, job graph), and against this project's invariants: the nightly matrix is exactly the
 * branch recipes x SUPPORTED_ARCHES, one concurrency group per branch, secrets only in the env of
 * the step that needs them, and CI runs exactly the test command README.md gives.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { SUPPORTED_ARCHES } from '../../src/recipe/schema.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const read = (name: string) => readFileSync(join(WORKFLOWS, name), 'utf8');

// The parser imports its JSON schema without an import attribute (it is built for bundlers); this
// loader hook adds `type: 'json'` for the parser's own .json files so Node loads it as it is.
register(
  'data:text/javascript,' +
    encodeURIComponent(
      `export async function load(url, context, next) {
        if (url.endsWith('.json') && url.includes('/@actions/')) return next(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
        return next(url, context);
      }`,
    ),
);
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import('@actions/workflow-parser');

/** GitHub's parser: schema errors from parsing, then semantic ones (cron, contexts, needs) from converting. */
async function validate(name: string, content: string): Promise<{ errors: string[]; jobs: string[] }> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const template = parsed.value ? await convertWorkflowTemplate(parsed.context, parsed.value) : undefined;
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  return { errors, jobs: template?.jobs?.map((j) => String(j.id.value)) ?? [] };
}

type Step = { name?: string; id?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string };
type Job = { name?: string; needs?: string | string[]; 'runs-on': string; strategy?: { matrix: Record<string, unknown>; 'fail-fast'?: boolean }; concurrency?: { group: string; 'cancel-in-progress'?: boolean }; outputs?: Record<string, string>; env?: Record<string, string>; steps: Step[] };
type Workflow = { name: string; on: Record<string, unknown>; permissions?: Record<string, string>; env?: Record<string, string>; concurrency?: unknown; jobs: Record<string, Job> };

const ci = parse(read('ci.yml')) as Workflow;
const nightly = parse(read('nightly.yml')) as Workflow;
const words = (s: string) => s.split(/\s+/).filter(Boolean);

describe('GitHub workflow parser', () => {
  for (const name of ['ci.yml', 'nightly.yml']) {
    test(`${name} has no errors`, async () => {
      const r = await validate(name, read(name));
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.jobs, Object.keys(name === 'ci.yml' ? ci.jobs : nightly.jobs));
    });
  }

  test('every workflow in .github/workflows is one of them', () => {
    assert.deepEqual(readdirSync(WORKFLOWS).sort(), ['ci.yml', 'nightly.yml']);
  });

  test('reports broken workflows (so a clean result above means something)', async () => {
    const ok = 'jobs:\n  a:\n    runs-on: ubuntu-22.04\n    steps:\n      - run: echo hi\n';
    assert.deepEqual((await validate('ok.yml', `on: push\n${ok}`)).errors, [], 'the baseline is valid');
    const cases: [string, string, RegExp][] = [
      ['unknown event in on', `on: [pushy]\n${ok}`, /Line: 1.*Unexpected value 'pushy'/],
      ['on missing', ok, /Required property is missing: on/],
      ['on is a number', `on: 5\n${ok}`, /Line: 1/],
      ['unknown job key', 'on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n    steps:\n      - run: echo\n', /Line: 5.*Unexpected value 'stepz'/],
      ['bad cron', 'on:\n  schedule:\n    - cron: "99 * * * *"\n' + ok, /Invalid cron expression/],
      ['matrix in a workflow-level concurrency group', `on: push\nconcurrency: { group: "x-\${{ matrix.branch }}" }\n${ok}`, /Unrecognized named-value: 'matrix'/],
      ['secrets where they are not allowed', 'on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n        if: secrets.X\n', /Unrecognized named-value: 'secrets'/],
      ['a job needing a missing job', 'on: push\njobs:\n  a:\n    needs: nope\n    runs-on: x\n    steps:\n      - run: echo\n', /at least one job with no dependencies/],
    ];
    for (const [what, content, re] of cases) {
      const r = await validate('broken.yml', content);
      assert.ok(r.errors.some((e) => re.test(e)), `${what}: expected ${re}, got ${JSON.stringify(r.errors)}`);
    }
  });
});

describe('nightly.yml', () => {
  const select = nightly.jobs.select!;
  const job = nightly.jobs.nightly!;
  const selectStep = select.steps.find((s) => s.id === 'select')!;
  const runStep = job.steps.find((s) => s.run?.includes('crio-build nightly'))!;

  test('runs nightly on a schedule and by hand with branches, arches and force inputs', () => {
    const on = nightly.on as { schedule: { cron: string }[]; workflow_dispatch: { inputs: Record<string, { type: string; default: unknown }> } };
    assert.equal(on.schedule.length, 1);
    const [min, hour, dom, mon, dow] = words(on.schedule[0]!.cron);
    assert.ok(/^\d+$/.test(min!) && /^\d+$/.test(hour!) && dom === '*' && mon === '*' && dow === '*', `once a day: ${on.schedule[0]!.cron}`);
    assert.deepEqual(Object.keys(nightly.on).sort(), ['schedule', 'workflow_dispatch']);
    const inputs = on.workflow_dispatch.inputs;
    assert.deepEqual(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, [v.type, v.default]])), { branches: ['string', ''], arches: ['string', ''], force: ['boolean', false] });
    assert.deepEqual(nightly.permissions, { contents: 'write' });
  });

  test('the matrix lists are exactly the branch recipes and SUPPORTED_ARCHES', () => {
    const recipes = readdirSync(join(ROOT, 'recipes', 'branches'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
    const all = words(selectStep.env!.ALL_BRANCHES!);
    assert.deepEqual([...all].sort(), [...recipes].sort(), 'every matrix branch has recipes/branches/<b>.yaml and every recipe is built');
    for (const b of recipes) assert.equal((parse(readFileSync(join(ROOT, 'recipes', 'branches', `${b}.yaml`), 'utf8')) as { name: string }).name, b);
    assert.deepEqual(words(selectStep.env!.ALL_ARCHES!), [...SUPPORTED_ARCHES]);
    // The nightly job's matrix is what the select job outputs (all of them, or the dispatch inputs).
    assert.deepEqual(job.needs, 'select');
    assert.deepEqual(job.strategy!.matrix, { branch: '${{ fromJSON(needs.select.outputs.branches) }}', arch: '${{ fromJSON(needs.select.outputs.arches) }}' });
    assert.deepEqual(select.outputs, { branches: '${{ steps.select.outputs.branches }}', arches: '${{ steps.select.outputs.arches }}' });
    assert.equal(selectStep.env!.WANT_BRANCHES, '${{ inputs.branches }}');
    assert.equal(selectStep.env!.WANT_ARCHES, '${{ inputs.arches }}');
    assert.equal(job.strategy!['fail-fast'], false, 'one failing branch does not cancel the others');
  });

  test("the select step's script, run as the runner runs it: all by default, the inputs checked otherwise", async () => {
    const dir = await tempDir();
    const runSelect = (wantBranches: string, wantArches: string) => {
      const out = join(dir, `out-${Math.random().toString(16).slice(2)}`);
      const r = spawnSync('bash', ['-e', '-c', selectStep.run!], {
        encoding: 'utf8',
        env: { PATH: `${join(process.execPath, '..')}:${process.env.PATH}`, ...selectStep.env, WANT_BRANCHES: wantBranches, WANT_ARCHES: wantArches, GITHUB_OUTPUT: out },
      });
      let outputs: Record<string, unknown> = {};
      try {
        outputs = Object.fromEntries(
          readFileSync(out, 'utf8')
            .trim()
            .split('\n')
            .map((l) => [l.slice(0, l.indexOf('=')), JSON.parse(l.slice(l.indexOf('=') + 1))]),
        );
      } catch {
        // no outputs written
      }
      return { code: r.status, stdout: r.stdout, outputs };
    };
    const all = runSelect('', '');
    assert.equal(all.code, 0, all.stdout);
    assert.deepEqual(all.outputs, { branches: words(selectStep.env!.ALL_BRANCHES!), arches: [...SUPPORTED_ARCHES] });

    const some = runSelect('main, release-1.18', 'arm64');
    assert.equal(some.code, 0);
    assert.deepEqual(some.outputs, { branches: ['release-1.18', 'main'], arches: ['arm64'] });

    const bad = runSelect('release-1.99 main', 'riscv64');
    assert.equal(bad.code, 1);
    assert.deepEqual(bad.outputs, {}, 'no matrix for bad inputs');
    assert.match(bad.stdout, /::error::unknown branches: release-1\.99 \(allowed: release-1\.13, .*, main\)/);
    assert.match(bad.stdout, /::error::unknown arches: riscv64 \(allowed: arm64, amd64\)/);
  });

  test('one concurrency group per branch, never cancelling a run in progress', () => {
    assert.match(job.concurrency!.group, /\$\{\{\s*matrix\.branch\s*\}\}/);
    assert.match(job.concurrency!.group, /^nightly-/);
    assert.equal(job.concurrency!['cancel-in-progress'], false);
  });

  test('steps: checkout, Node 20, qemu for arm64, the cache keyed by branch/arch and the recipes and builders, npm ci, the nightly command, the manifest uploaded', () => {
    const uses = job.steps.filter((s) => s.uses).map((s) => s.uses);
    assert.deepEqual(uses, ['actions/checkout@v4', 'actions/setup-node@v4', 'docker/setup-qemu-action@v3', 'actions/cache@v4', 'actions/upload-artifact@v4']);
    const at = (pred: (s: Step) => boolean) => job.steps.findIndex(pred);
    const order = [
      at((s) => s.uses === 'actions/checkout@v4'),
      at((s) => s.uses === 'actions/setup-node@v4'),
      at((s) => s.uses === 'docker/setup-qemu-action@v3'),
      at((s) => s.uses === 'actions/cache@v4'),
      at((s) => s.run === 'npm ci'),
      at((s) => s === runStep),
      at((s) => s.uses === 'actions/upload-artifact@v4'),
    ];
    assert.ok(order.every((i) => i >= 0), `all present: ${order}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, `in order: ${order}`);

    const step = (u: string) => job.steps.find((s) => s.uses === u)!;
    assert.equal(String(step('actions/setup-node@v4').with!['node-version']), '20');
    assert.equal(step('docker/setup-qemu-action@v3').with!.platforms, 'arm64');
    const cache = step('actions/cache@v4').with as { path: string; key: string; 'restore-keys': string };
    for (const part of ['${{ matrix.branch }}', '${{ matrix.arch }}', "hashFiles('recipes/**', 'builders/**')"]) assert.ok(cache.key.includes(part), `cache key has ${part}: ${cache.key}`);
    assert.ok(cache['restore-keys'].split('\n').every((k) => !k.trim() || cache.key.startsWith(k.trim())), 'restore keys are prefixes of the key');
    assert.equal(runStep.env!.CRIO_BUILD_CACHE, cache.path, 'the build uses the cache dir that is restored and saved');

    // The command: nightly for this cell's branch and arch, published, with a manifest that is uploaded.
    assert.equal(runStep.env!.BRANCH, '${{ matrix.branch }}');
    assert.equal(runStep.env!.ARCH, '${{ matrix.arch }}');
    assert.match(runStep.run!, /args=\(--branch "\$BRANCH" --arch "\$ARCH" --publish --json nightly-manifest\.json\)/);
    assert.match(runStep.run!, /^npx crio-build nightly "\$\{args\[@\]\}"$/m);
    assert.match(runStep.run!, /if \[ "\$FORCE" = true \]; then args\+=\(--force\); fi/);
    assert.equal(runStep.env!.FORCE, '${{ inputs.force }}');
    const upload = step('actions/upload-artifact@v4');
    assert.equal(upload.with!.path, 'nightly-manifest.json');
    assert.match(String(upload.with!.name), /\$\{\{ matrix\.branch \}\}.*\$\{\{ matrix\.arch \}\}/, 'one artifact name per matrix cell (v4 needs unique names)');
    assert.equal(upload.if, '${{ !cancelled() }}', 'the manifest is uploaded when the build failed too');
  });

  test('the cache prune line is one the cache command accepts', async () => {
    const step = job.steps.find((s) => s.run?.includes('crio-build cache'))!;
    const args = words(step.run!.replace(/^npx crio-build /, ''));
    assert.deepEqual(args.slice(0, 2), ['cache', 'prune']);
    assert.equal(step.env!.CRIO_BUILD_CACHE, runStep.env!.CRIO_BUILD_CACHE);
    const cacheDir = await tempDir();
    const harness = `
      import yargs from ${JSON.stringify(import.meta.resolve('yargs'))};
      import { cacheCommand } from ${JSON.stringify(new URL('../../src/cli/cache.js', import.meta.url).href)};
      await yargs(process.argv.slice(1)).command(cacheCommand).strict().fail((m, e) => { console.error(m ?? e?.message); process.exit(2); }).parseAsync();
    `;
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', harness, ...args, '--dry-run'], { env: { ...process.env, CRIO_BUILD_CACHE: cacheDir, XDG_CONFIG_HOME: '/nonexistent-crio-build-test', CRIO_BUILD_CONFIG: '' } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Would remove 0 entries/);
  });
});

describe('secrets', () => {
  /** Every string in the workflow with its path. */
  function* strings(v: unknown, path: string[] = []): Generator<[string[], string]> {
    if (typeof v === 'string') yield [path, v];
    else if (Array.isArray(v)) for (const [i, x] of v.entries()) yield* strings(x, [...path, String(i)]);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) yield* strings(x, [...path, k]);
  }

  for (const [name, wf] of [
    ['ci.yml', ci],
    ['nightly.yml', nightly],
  ] as const) {
    test(`${name}: secrets appear only in a step's env, and no script names or prints them`, () => {
      const holders: string[] = [];
      for (const [path, value] of strings(wf)) {
        if (!/\bsecrets\./.test(value)) continue;
        assert.ok(path.length === 6 && path[0] === 'jobs' && path[2] === 'steps' && path[4] === 'env', `a secret outside a step's env: ${path.join('.')}`);
        assert.match(value, /^\$\{\{ secrets\.[A-Z_]+ \}\}$/, `${path.join('.')} is exactly one secret`);
        holders.push(path[5]!);
      }
      for (const [path, value] of strings(wf)) {
        if (path[path.length - 1] !== 'run') continue;
        for (const h of holders) assert.ok(!value.includes(h), `${path.join('.')} mentions ${h}`);
        assert.doesNotMatch(value, /set -x|set -o xtrace|\benv\b\s*$|printenv/m, `${path.join('.')} could print the environment`);
      }
      if (name === 'ci.yml') assert.deepEqual(holders, [], 'CI needs no secrets');
      else {
        assert.deepEqual(holders.sort(), ['CRIO_BUILD_SIGNING_KEY', 'CRIO_BUILD_SIGNING_PASSPHRASE', 'GITHUB_TOKEN']);
        const env = nightly.jobs.nightly!.steps.find((s) => s.run?.includes('crio-build nightly'))!.env!;
        assert.equal(env.GITHUB_TOKEN, '${{ secrets.GITHUB_TOKEN }}');
        assert.equal(env.CRIO_BUILD_SIGNING_KEY, '${{ secrets.CRIO_BUILD_SIGNING_KEY }}');
        assert.equal(env.CRIO_BUILD_SIGNING_PASSPHRASE, '${{ secrets.CRIO_BUILD_SIGNING_PASSPHRASE }}');
      }
    });
  }

  test('npm ci (which runs install scripts of dependencies) does not see the secrets', () => {
    const npmCi = nightly.jobs.nightly!.steps.find((s) => s.run === 'npm ci')!;
    assert.equal(npmCi.env, undefined);
    assert.equal(nightly.env, undefined);
    assert.equal(nightly.jobs.nightly!.env, undefined);
  });
});

describe('ci.yml', () => {
  test("runs exactly README's test command, after checkout and Node 20", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const lines = blocks.flatMap((b) => b.split('\n')).filter((l) => /\bnpm install-test\b/.test(l) && !l.trim().startsWith('#'));
    assert.equal(lines.length, 1, `one test command in README: ${JSON.stringify(lines)}`);
    const commands = lines[0]!.split('&&').map((c) => c.trim());
    assert.deepEqual(commands, ['sudo scripts/provision-host.sh', 'npm install-test'], 'the README command as this test understands it');

    assert.deepEqual(Object.keys(ci.jobs), ['test']);
    const steps = ci.jobs.test!.steps;
    assert.deepEqual(
      steps.filter((s) => s.run).map((s) => s.run!.trim()),
      commands,
      'the run steps are the README command, in order (one step each: a failing step stops the job, as && does)',
    );
    assert.deepEqual(steps.slice(0, 2).map((s) => s.uses), ['actions/checkout@v4', 'actions/setup-node@v4']);
    assert.equal(String(steps[1]!.with!['node-version']), '20');
    assert.deepEqual(ci.on, { push: { branches: ['main'] }, pull_request: null });
    assert.deepEqual(ci.permissions, { contents: 'read' });
  });
});
