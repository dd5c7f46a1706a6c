/**
 * `crio-build fetch <branch>`: download and verify every source and toolchain of a branch into the
 * cache, so that a build can run offline.
 */
import type { Argv, CommandModule } from 'yargs';
import { runPipeline } from '../../pipeline/pipeline.js';
import { branchOptions, branchPipelineOptions, type BranchArgs } from '../options.js';
import { stderrEvents } from '../render.js';

export const fetchCommand: CommandModule<object, BranchArgs> = {
  command: 'fetch <branch>',
  describe: 'download and verify every source and toolchain into the cache, so a build can run offline',
  builder: (y) => branchOptions(y) as unknown as Argv<BranchArgs>,
  handler: async (a) => {
    const ctx = await runPipeline(await branchPipelineOptions(a, 'fetch'), stderrEvents(a.quiet));
    const f = ctx.fetched!;
    if (a.json) process.stdout.write(JSON.stringify(f, null, 2) + '\n');
    else {
      for (const [name, s] of Object.entries(f.sources)) process.stdout.write(`source     ${name.padEnd(12)} ${s.commit}  ${s.repoPath}\n`);
      for (const [name, t] of Object.entries(f.toolchains)) process.stdout.write(`toolchain  ${name.padEnd(12)} sha256:${t.sha256}  ${t.path}${t.downloaded ? '' : ' (cached)'}\n`);
    }
  },
};
