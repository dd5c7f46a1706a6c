/**
 * `crio-build doctor`: check this host (src/admin/doctor.ts), each finding with its fix; exit 5
 * when one fails.
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ExitCode } from '../../core/errors.js';
import { runDoctor } from '../../admin/doctor.js';
import { commonOptions, settingsFrom, type CommonArgs } from '../options.js';
import { findingsAsText } from '../render.js';

export const doctorCommand: CommandModule<object, CommonArgs & { json: boolean }> = {
  command: 'doctor',
  describe: 'check this host: Docker daemon, qemu binfmt for arm64, git, free disk',
  builder: (y) => commonOptions(y).option('json', { type: 'boolean', default: false }) as unknown as Argv<CommonArgs & { json: boolean }>,
  handler: async (a) => {
    const settings = await settingsFrom(a);
    const findings = await runDoctor({ cacheDir: settings.cacheDir, artifactsDir: resolve(a.artifacts), hosts: settings.hosts });
    process.stdout.write((a.json ? JSON.stringify(findings, null, 2) : findingsAsText(findings)) + '\n');
    if (findings.some((f) => !f.ok)) process.exitCode = ExitCode.hostNotReady;
  },
};
