/**
 * Ctrl-C or TERM during a run that starts containers: they are removed (src/hosts/containers.ts),
 * and the user is told how many, before the process ends with 130 (143 on TERM).
 */
import { installSignalCleanup } from '../hosts/containers.js';

export function removeContainersOnSignal(): void {
  installSignalCleanup({ onSignal: (sig, n) => process.stderr.write(`crio-build: ${sig}: removing ${n} container(s)\n`) });
}
