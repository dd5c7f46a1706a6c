/**
 * `crio-build plan <branch>`: resolve every pin and print the job graph with content keys; the
 * resolution is saved as the branch's lock record.
 */
import type { Argv, CommandModule } from 'yargs';
import { runPipeline } from '../../pipeline/pipeline.js';
import { branchOptions, branchPipelineOptions, type BranchArgs } from '../options.js';
import { planAsJson, planAsText, stderrEvents } from '../render.js';

export const planCommand: CommandModule<object, BranchArgs> = {
  command: 'plan <branch>',
  describe: 'resolve every pin and print the job graph with content keys (saves a lock record)',
  builder: (y) => branchOptions(y) as unknown as Argv<BranchArgs>,
  handler: async (a) => {
    const ctx = await runPipeline(await branchPipelineOptions(a, 'plan'), stderrEvents(a.quiet));
    process.stdout.write(a.json ? JSON.stringify(planAsJson(ctx.plan!, ctx.lockPath), null, 2) + '\n' : planAsText(ctx.plan!, ctx.lockPath) + '\n');
  },
};
