/**
 * Containers the run has started, so an interrupted run removes them: every builder creates its
 * containers through `startContainer`, and `installSignalCleanup` (called by the CLI, or by tests)
 * removes all that are still alive on SIGINT/SIGTERM before exiting. `cleanupContainers` finds
 * leftovers of earlier runs (a kill -9, a crash) by label.
 */
import type Docker from 'dockerode';
import { CrioBuildError, ExitCode } from '../core/errors.js';
import { LABEL_KIND, LABEL_MANAGED, LABEL_RUN, removeInterruptedBuildImages, type DockerDriver } from './docker.js';

const live = new Map<string, Docker.Container>();
let interruptedBy: NodeJS.Signals | undefined;

/** A build that stopped because the run was interrupted (its failure is the signal's doing). */
export class InterruptedError extends CrioBuildError {
  constructor(message: string) {
    super(message, ExitCode.interrupted);
  }
}

/** The signal that interrupted this run, if one did: builds failing after it report InterruptedError. */
export function interruption(): NodeJS.Signals | undefined {
  return interruptedBy;
}

export async function startContainer(driver: DockerDriver, opts: Docker.ContainerCreateOptions & { platform?: string }): Promise<Docker.Container> {
  const container = await driver.client.createContainer(opts);
  live.set(container.id, container);
  try {
    await container.start();
  } catch (err) {
    await removeContainer(container);
    throw err;
  }
  return container;
}

/**
 * Force-remove (kills what runs in it) with its anonymous volumes; a container already gone is fine.
 * When another caller's removal is in progress (409), wait until it is gone, so that "removed"
 * means removed even for a signal handler that exits right after.
 */
export async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code === 409) await gone(container);
    else if (code !== 404) throw err;
  } finally {
    live.delete(container.id);
  }
}

async function gone(container: Docker.Container, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      await container.inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function liveContainerIds(): string[] {
  return [...live.keys()];
}

export async function removeLiveContainers(): Promise<number> {
  const all = [...live.values()];
  await Promise.allSettled(all.map((c) => removeContainer(c)));
  return all.length;
}

/**
 * On SIGINT/SIGTERM: remove every live container and the step images of interrupted image builds, then exit 130/143 (the CLI may pass its own
 * `onSignal` to render a message first). Returns a function that uninstalls the handlers.
 */
export function installSignalCleanup(
  opts: {
    onSignal?: (signal: NodeJS.Signals, containers: number) => void;
    exit?: boolean;
  } = {},
): () => void {
  let busy = false;
  const handler = (signal: NodeJS.Signals) => {
    if (busy) return; // a second Ctrl-C while removing: keep removing
    busy = true;
    interruptedBy = signal;
    const n = live.size;
    opts.onSignal?.(signal, n);
    void removeLiveContainers()
      .then(() => removeInterruptedBuildImages())
      .catch(() => undefined)
      .finally(() => {
        if (opts.exit !== false) process.exit(signal === 'SIGINT' ? 130 : 143);
        busy = false;
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/**
 * Remove our build and verify containers that have stopped (exited or dead): a run cannot remove its
 * container while the engine is restarting or gone, so such a run leaves it behind. Running ones are
 * left alone (another run may be using them). Returns the names of those removed.
 */
export async function removeStoppedContainers(driver: DockerDriver): Promise<string[]> {
  const list = await driver.client.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_MANAGED}=true`], status: ['exited', 'dead'] }) });
  const stopped = list.filter((c) => c.Labels[LABEL_KIND] === 'build' || c.Labels[LABEL_KIND] === 'verify');
  for (const c of stopped) await removeContainer(driver.client.getContainer(c.Id));
  return stopped.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ''));
}

/** Remove our containers left by earlier runs (all, or one run's), and their volumes. */
export async function cleanupContainers(driver: DockerDriver, runId?: string): Promise<string[]> {
  const label = [`${LABEL_MANAGED}=true`];
  if (runId) label.push(`${LABEL_RUN}=${runId}`);
  const list = await driver.client.listContainers({ all: true, filters: JSON.stringify({ label }) });
  for (const c of list) await removeContainer(driver.client.getContainer(c.Id));
  const vols = (await driver.client.listVolumes({ filters: JSON.stringify({ label }) } as never)) as unknown as { Volumes?: { Name: string }[] } | undefined;
  for (const v of vols?.Volumes ?? []) await driver.client.getVolume(v.Name).remove().catch(() => undefined);
  return list.map((c) => c.Names[0] ?? c.Id);
}
