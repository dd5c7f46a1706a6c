/**
 * Host checks for running foreign-arch binaries: arm64 containers on an amd64 engine, a cross-built
 * crio generating its config, and the --version checks all rely on the kernel's binfmt_misc handing
 * aarch64 ELF files to qemu. The registration must have the F flag (interpreter opened at
 * registration time) so it also works inside containers, whose filesystems lack qemu.
 */
import { readFile } from 'node:fs/promises';
import { HostNotReadyError } from '../core/errors.js';
import type { Arch } from '../recipe/schema.js';

const QEMU_NAME: Record<Arch, string> = { arm64: 'qemu-aarch64', amd64: 'qemu-x86_64' };

export const BINFMT_FIX: Record<Arch, string> = {
  arm64:
    'apt-get install qemu-user-static binfmt-support && ' +
    '(mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc) && ' +
    'update-binfmts --enable qemu-aarch64',
  amd64:
    'apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-x86_64',
};

/** The host arch in our terms (Node's `process.arch` says x64/arm64). */
export function nodeHostArch(): Arch {
  if (process.arch === 'x64') return 'amd64';
  if (process.arch === 'arm64') return 'arm64';
  throw new HostNotReadyError(`this host is ${process.arch}; crio-build runs on amd64 or arm64 hosts`);
}

/**
 * Ensure binaries for `target` can run on a `host` machine (a no-op when they are the same arch).
 * Throws HostNotReadyError naming the fix when binfmt_misc has no enabled registration with F.
 */
export async function checkBinfmt(target: Arch, host: Arch = nodeHostArch(), root = '/proc/sys/fs/binfmt_misc'): Promise<void> {
  if (target === host) return;
  const entry = `${root}/${QEMU_NAME[target]}`;
  let text: string;
  try {
    text = await readFile(entry, 'utf8');
  } catch {
    throw new HostNotReadyError(`no qemu binfmt registration for ${target} binaries (${entry} is missing)`, BINFMT_FIX[target]);
  }
  const lines = text.split('\n');
  if (lines[0]?.trim() !== 'enabled') {
    throw new HostNotReadyError(`the qemu binfmt registration for ${target} is disabled (${entry})`, BINFMT_FIX[target]);
  }
  const flags = lines.find((l) => l.startsWith('flags:'))?.slice('flags:'.length).trim() ?? '';
  if (!flags.includes('F')) {
    throw new HostNotReadyError(
      `the qemu binfmt registration for ${target} lacks the F (fix-binary) flag, so it cannot work inside containers (${entry}: flags ${flags || 'none'})`,
      'install the static emulator, which registers with F: ' + BINFMT_FIX[target],
    );
  }
}
