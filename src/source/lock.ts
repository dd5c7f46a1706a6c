/**
 * Lock records: the Resolution saved as JSON. Reading one validates it like any other input,
 * and checks it is for the branch and components being built.
 */
import { z } from 'zod';
import { InvalidInputError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/atomic.js';
import type { Resolution } from './resolver.js';
import type { BranchRecipe } from '../recipe/schema.js';
import { dirName, gitCommit, refName, safeName, sha256Hex, sourceUrl } from '../recipe/schema.js';
import { readDataFile, validateYaml } from '../recipe/yaml-validate.js';

const archive = z.object({ url: sourceUrl, sha256: sha256Hex }).strict();
const lockSchema = z
  .object({
    lockVersion: z.literal(1),
    branch: safeName,
    kubernetes: z.string().regex(/^1\.\d+$/),
    toolchain: safeName.optional(),
    // Shown when the lock is used: a timestamp, never free text (control characters would reach the terminal).
    resolvedAt: z.string().max(64).regex(/^[0-9][0-9T:.+-]*Z?$/, 'an ISO 8601 timestamp'),
    components: z.record(
      safeName,
      z
        .object({
          url: sourceUrl,
          ref: z.object({ kind: z.enum(['branch', 'tag']), name: refName }).strict(),
          commit: gitCommit,
          commitTime: z.number().int().nonnegative(),
          version: z.string().max(128).regex(/^[0-9][A-Za-z0-9.+~-]*$/, 'an upstream version'),
          pinnedBy: z.enum(['recipe', 'config', 'trust-on-first-use', 'branch-head', 'in-tree']),
        })
        .strict(),
    ),
    toolchains: z.record(
      safeName,
      z
        .object({
          version: z.string().max(32).regex(/^[^\p{Cc}\p{Cf}]*$/u, 'a version without control characters'),
          root: dirName,
          overridden: z.boolean(),
          archives: z.object({ amd64: archive.optional(), arm64: archive.optional() }).strict(),
        })
        .strict(),
    ),
  })
  .strict();

export async function readLock(file: string, branch: string, components: string[]): Promise<Resolution> {
  // JSON is YAML, so the same validator gives file:line errors for a hand-edited lock.
  const lock = validateYaml(file, await readDataFile(file), lockSchema).value as Resolution;
  if (lock.branch !== branch) throw new InvalidInputError(`${file}: this lock is for branch "${lock.branch}", not "${branch}"`);
  const want = [...components].sort().join(', ');
  const have = Object.keys(lock.components).sort().join(', ');
  if (want !== have) throw new InvalidInputError(`${file}: the lock pins components [${have}] but the recipe builds [${want}]`, 'make a new lock with `crio-build plan`');
  return lock;
}

export async function writeLock(file: string, resolution: Resolution): Promise<void> {
  await writeJsonAtomic(file, resolution);
}

/**
 * The Kubernetes minor of a branch outside a run: the recipe's, or, for a branch that reads it from
 * its tree, the one the branch's last resolution (its lock record) found.
 */
export async function kubernetesOf(branch: BranchRecipe, lockFile: string): Promise<string> {
  if (typeof branch.kubernetes === 'string') return branch.kubernetes;
  const lock = await readLock(lockFile, branch.name, Object.keys(branch.components)).catch(() => undefined);
  if (!lock) throw new InvalidInputError(`${branch.name} reads its Kubernetes minor from ${branch.kubernetes.follow} at the commit it builds, and no lock record says which that was (${lockFile})`, `run \`crio-build plan ${branch.name}\` (or a build) first`);
  return lock.kubernetes;
}
