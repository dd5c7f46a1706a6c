/**
 * The one child-process runner (src/core/run.ts), with real processes: argv reaches the program
 * unchanged (no shell), the secrets stay out of the child's environment, output is bounded, errors
 * name the command, extra fds carry data, and big data streams through.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { HostNotReadyError } from '../../src/core/errors.js';
import { childEnv, NotInstalledError, run, RunError, runSync, runText, SECRET_ENV, start } from '../../src/core/run.js';
import { tempDir } from '../helpers/tmp.js';

/** Sets the secret variables for the duration of `fn`. */
async function withSecrets<T>(fn: (values: Record<string, string>) => Promise<T> | T): Promise<T> {
  const saved = Object.fromEntries(SECRET_ENV.map((k) => [k, process.env[k]]));
  const values = Object.fromEntries(SECRET_ENV.map((k) => [k, `SECRET-${k}-${randomBytes(6).toString('hex')}`]));
  Object.assign(process.env, values);
  try {
    return await fn(values);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

const rejectsWith = async (p: Promise<unknown>, check: (err: Error) => void) => {
  const err = await p.then(
    () => assert.fail('expected the run to fail'),
    (e: unknown) => e as Error,
  );
  check(err);
  return err;
};

describe('argv only, never a shell', () => {
  test('arguments with spaces, quotes, semicolons, $() and globs reach the program unchanged', async () => {
    const dir = await tempDir('crio-build-run-');
    const marker = join(dir, 'pwned');
    const args = ['two words', `it's "quoted"`, `; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, '*', '| cat', '&& true', '', 'tab\there', 'new\nline', '--', '-n'];
    const out = await runText(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args]);
    assert.deepEqual(JSON.parse(out), args);
    assert.equal(existsSync(marker), false, 'nothing was run by a shell');
  });

  test('a program name with shell syntax is a program name, not a command line', async () => {
    await rejectsWith(run('true; echo hi', []), (err) => {
      assert.ok(err instanceof NotInstalledError, String(err));
      assert.match(err.message, /^true; echo hi is not installed/);
    });
  });
});

describe('the environment', () => {
  test('a secret in process.env is not in the child\'s environment; the rest is passed on', async () => {
    await withSecrets(async (values) => {
      process.env.CRIO_BUILD_HARMLESS = 'kept';
      try {
        const env = await runText('env', []);
        assert.match(env, /^CRIO_BUILD_HARMLESS=kept$/m);
        for (const k of SECRET_ENV) {
          assert.doesNotMatch(env, new RegExp(`^${k}=`, 'm'), k);
          assert.ok(!env.includes(values[k]!), `${k}'s value`);
        }
      } finally {
        delete process.env.CRIO_BUILD_HARMLESS;
      }
    });
  });

  test('a caller\'s own environment cannot bring a secret back, by name or by value', async () => {
    await withSecrets(async (values) => {
      const env = await runText('env', [], {
        env: { PATH: process.env.PATH, MINE: 'yes', GITHUB_TOKEN: values.GITHUB_TOKEN, COPY_OF_TOKEN: values.GITHUB_TOKEN, KEY: values.CRIO_BUILD_SIGNING_KEY },
      });
      assert.match(env, /^MINE=yes$/m);
      assert.doesNotMatch(env, /^GITHUB_TOKEN=/m);
      assert.doesNotMatch(env, /^(COPY_OF_TOKEN|KEY)=/m);
      for (const v of Object.values(values)) assert.ok(!env.includes(v));
      assert.doesNotMatch(env, /^HOME=/m, 'only the given environment: nothing else is inherited');
      assert.deepEqual(SECRET_ENV.filter((k) => k in childEnv()), []);
    });
  });

  test('runSync scrubs the environment too', async () => {
    await withSecrets((values) => {
      const env = runSync('env', []).stdout.toString('utf8');
      for (const v of Object.values(values)) assert.ok(!env.includes(v));
    });
  });
});

describe('output limits', () => {
  test('captured output over the limit fails naming the command and the limit, and stops the program', async () => {
    const started = Date.now();
    const err = await rejectsWith(run('yes', ['crio-build'], { maxOutput: 1024 * 1024 }), (e) => {
      assert.ok(e instanceof RunError, String(e));
      assert.equal(e.reason, 'output-limit');
      assert.match(e.message, /^yes crio-build: output over the limit of 1 MiB \(more than 1048576 bytes on stdout\)/);
    });
    assert.ok(Date.now() - started < 10_000, `stopped quickly (${err.message})`);
  });

  test('output up to the limit is fine', async () => {
    const r = await run('head', ['-c', '1048576', '/dev/zero'], { maxOutput: 1024 * 1024 });
    assert.equal(r.stdout.length, 1024 * 1024);
  });

  test('stderr is kept as a tail, never an error by size', async () => {
    const r = await run('sh', ['-c', 'head -c 300000 /dev/zero | tr "\\0" x >&2; echo LAST-LINE >&2'], { stderrTail: 4096 });
    assert.equal(r.code, 0);
    assert.ok(r.stderr.length <= 4096, String(r.stderr.length));
    assert.match(r.stderr, /LAST-LINE\n$/);
  });
});

describe('errors name the command', () => {
  test('a failing command: the command and its arguments, the exit status and the end of stderr', async () => {
    await rejectsWith(run('sh', ['-c', 'echo first >&2; echo "second line" >&2; exit 3', 'arg with space']), (err) => {
      assert.ok(err instanceof RunError, String(err));
      assert.equal(err.code, 3);
      assert.equal(err.reason, 'exit');
      assert.match(err.message, /^sh -c "echo first >&2; echo \\"second line\\" >&2; exit 3" "arg with space" failed \(exit status 3\): first \| second line$/);
      assert.match(err.stderr, /second line/);
    });
  });

  test('killed by a signal', async () => {
    await rejectsWith(run('sh', ['-c', 'kill -TERM $$']), (err) => {
      assert.ok(err instanceof RunError);
      assert.equal(err.signal, 'SIGTERM');
      assert.match(err.message, /^sh -c "kill -TERM \$\$" failed \(killed by SIGTERM\)$/);
    });
  });

  test('check: false gives the status to the caller instead', async () => {
    const r = await run('sh', ['-c', 'echo out; echo err >&2; exit 7'], { check: false });
    assert.equal(r.code, 7);
    assert.equal(r.stdout.toString(), 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('a missing program says it is not installed, with how to get it (a HostNotReadyError)', async () => {
    await rejectsWith(run('crio-build-no-such-program', ['--version'], { installHint: 'install crio-build-tools' }), (err) => {
      assert.ok(err instanceof NotInstalledError, String(err));
      assert.ok(err instanceof HostNotReadyError);
      assert.equal(err.message, 'crio-build-no-such-program is not installed (not found in PATH): install crio-build-tools');
      assert.equal(err.hint, 'install crio-build-tools');
    });
    assert.throws(() => runSync('crio-build-no-such-program', []), /crio-build-no-such-program is not installed/);
  });

  test('a working directory that does not exist is said as such, not as a missing program', async () => {
    await rejectsWith(run('true', [], { cwd: '/nonexistent-crio-build-dir' }), (err) => {
      assert.ok(err instanceof RunError, String(err));
      assert.match(err.message, /^true: cannot be started: the directory \/nonexistent-crio-build-dir does not exist$/);
    });
  });

  test('secret-looking arguments and secrets in stderr are masked in the message', async () => {
    await withSecrets(async (values) => {
      const token = values.GITHUB_TOKEN!;
      const err = await rejectsWith(
        run('sh', ['-c', 'echo "bad: $1 $2" >&2; exit 1', 'sh', `https://x-access-token:${token}@github.com/o/r`, 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', '--passphrase', 'hunter2-passphrase', '--token=abc123secret', '--passphrase-fd', '3'], {
          secrets: ['hunter2-passphrase'],
        }),
        () => undefined,
      );
      for (const s of [token, 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'hunter2-passphrase', 'abc123secret']) assert.ok(!err.message.includes(s), `${s} in ${err.message}`);
      assert.match(err.message, /https:\/\/x-access-token:\*\*\*@github\.com\/o\/r \*\*\* --passphrase \*\*\* --token=\*\*\* --passphrase-fd 3 failed \(exit status 1\): bad: https:\/\/x-access-token:\*\*\*@github\.com\/o\/r \*\*\*$/);
    });
  });
});

describe('extra file descriptors, streaming, lines, timeouts', () => {
  test('an extra input fd carries data that is neither in argv nor in the environment', async () => {
    const secret = `passphrase-${randomBytes(8).toString('hex')}`;
    const r = await run('sh', ['-c', 'read -r p <&3; echo "got:$p"; echo "[GNUPG:] STATUS ok" >&4; ps -o args= -p $$; env'], {
      inputFds: { 3: `${secret}\n` },
      outputFds: [4],
    });
    const out = r.stdout.toString('utf8');
    assert.match(out, new RegExp(`^got:${secret}$`, 'm'));
    assert.equal(out.split(secret).length - 1, 1, 'only what the program printed: not in its argv or environment');
    assert.equal(r.fds.get(4)?.toString('utf8'), '[GNUPG:] STATUS ok\n');
  });

  test('stdin -> stdout streaming: 96 MiB through cat (more than the capture limit), unchanged', async () => {
    const block = randomBytes(1024 * 1024);
    const blocks = 96;
    const inHash = createHash('sha256');
    const outHash = createHash('sha256');
    let outBytes = 0;
    const cat = start('cat', [], { stdin: 'pipe', stdout: 'pipe' });
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < blocks; i++) {
          const b = Buffer.from(block);
          b.writeUInt32LE(i, 0);
          inHash.update(b);
          yield b;
        }
      })(),
    );
    const reading = (async () => {
      for await (const c of cat.stdout!) {
        outHash.update(c as Buffer);
        outBytes += (c as Buffer).length;
      }
    })();
    await Promise.all([pipeline(source, cat.stdin!), reading, cat.done]);
    assert.equal(outBytes, blocks * block.length);
    assert.equal(outHash.digest('hex'), inHash.digest('hex'));
  });

  test('a stream as stdin, with captured output (xz round trip)', async () => {
    const data = Buffer.concat(Array.from({ length: 64 }, (_, i) => Buffer.from(`line ${i} `.repeat(1000))));
    const xz = await run('xz', ['-c', '-1'], { stdin: Readable.from([data.subarray(0, 1000), data.subarray(1000)]) });
    const back = await run('xz', ['-dc'], { stdin: xz.stdout });
    assert.ok(back.stdout.equals(data));
  });

  test('output as lines: each line of stdout and stderr as it comes, the last ones kept', async () => {
    const seen: string[] = [];
    const r = await run('sh', ['-c', 'for i in 1 2 3; do echo "out $i"; echo "err $i" >&2; done; printf "no newline"'], { onLine: (l, s) => seen.push(`${s}:${l}`) });
    assert.deepEqual(seen.filter((l) => l.startsWith('stdout:')), ['stdout:out 1', 'stdout:out 2', 'stdout:out 3', 'stdout:no newline']);
    assert.deepEqual(seen.filter((l) => l.startsWith('stderr:')), ['stderr:err 1', 'stderr:err 2', 'stderr:err 3']);
    assert.equal(r.tail.length, 7);
    assert.equal(r.stdout.length, 0);
  });

  test('a timeout stops the program and says so', async () => {
    const started = Date.now();
    await rejectsWith(run('sleep', ['30'], { timeoutMs: 300 }), (err) => {
      assert.ok(err instanceof RunError);
      assert.equal(err.reason, 'timeout');
      assert.match(err.message, /^sleep 30: timed out after 300 ms; the command was stopped$/);
    });
    assert.ok(Date.now() - started < 10_000);
  });

  test('an AbortSignal stops the program', async () => {
    const ac = new AbortController();
    const p = run('sleep', ['30'], { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await rejectsWith(p, (err) => {
      assert.ok(err instanceof RunError);
      assert.equal(err.reason, 'aborted');
      assert.match(err.message, /^sleep 30: aborted/);
    });
  });
});
