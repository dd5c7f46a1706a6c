/**
 * Child process of the SIGINT test: installs the CLI's signal cleanup, starts a build whose step
 * sleeps, and says STEP when the step runs. The parent then interrupts it.
 */
import { join } from 'node:path';
import { installSignalCleanup } from '../../src/hosts/containers.js';
import { connectDocker } from '../../src/hosts/docker.js';
import { runBuild } from '../../src/build/run-build.js';
import { tempDir } from '../helpers/tmp.js';
import { toolchain } from './fixtures.js';
import { tinyRepo } from './tiny-repo.js';

const runId = process.argv[2] ?? 'signal-test';
installSignalCleanup();
const driver = await connectDocker();
const out = await tempDir();
const source = await tinyRepo({ Makefile: 'all:\n\tsleep 300\n' });
try {
await runBuild(
  {
    component: 'sleeper',
    arch: 'amd64',
    strategy: 'cross',
    build: { language: 'c', cgo: false, builder: 'debian-bookworm', strategy: 'cross', libraries: [], buildTags: [], env: {}, steps: [['make']], generate: [], outputs: [{ path: 'x', type: 'doc' }] },
    source,
    version: '0',
    toolchain: await toolchain('amd64'),
    outDir: join(out, 'out'),
    logFile: join(out, 'build.log'),
  },
  { driver, runId, onEvent: (e) => e.phase === 'step' && console.log('STEP') },
);
} catch (err) {
  // As the CLI does: a CrioBuildError exits with its code (130 for an interrupted build).
  console.error((err as Error).message);
  process.exit((err as { exitCode?: number }).exitCode ?? 1);
}
console.log('FINISHED'); // not reached: the parent interrupts the step
