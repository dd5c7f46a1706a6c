/** What a builder test must leave behind: nothing of its run (containers, volumes, dangling images). */
import assert from 'node:assert/strict';
import { LABEL_MANAGED, LABEL_RUN, type DockerDriver } from '../../src/hosts/docker.js';

export async function assertNoLeaks(driver: DockerDriver, runId: string): Promise<void> {
  const containers = await driver.client.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_RUN}=${runId}`] }) });
  assert.deepEqual(containers.map((c) => c.Names[0]), [], `containers of run ${runId} left behind`);
  const vols = (await driver.client.listVolumes({ filters: JSON.stringify({ label: [`${LABEL_MANAGED}=true`] }) } as never)) as unknown as { Volumes?: { Name: string }[] };
  assert.deepEqual((vols?.Volumes ?? []).map((v) => v.Name), [], 'volumes left behind');
  // An image build in progress (ours in another process, or another suite's) has a dangling newest
  // step image: while a step runs, its container sits on it; between steps it gets a child within
  // seconds. A leak is one that stays dangling and unused.
  let leaked = await danglingUnused(driver);
  for (let i = 0; i < 3 && leaked.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 5000));
    const still = new Set(await danglingUnused(driver));
    leaked = leaked.filter((id) => still.has(id));
  }
  assert.deepEqual(leaked, [], 'dangling images of ours left behind');
}

/** When this test process started: older leftovers (another suite killed hard) are not ours. */
const since = Math.floor((Date.now() - process.uptime() * 1000) / 1000);

async function danglingUnused(driver: DockerDriver): Promise<string[]> {
  const inUse = new Set((await driver.client.listContainers({ all: true })).map((c) => c.ImageID));
  const dangling = await driver.client.listImages({ filters: JSON.stringify({ dangling: ['true'], label: [`${LABEL_MANAGED}=true`] }) });
  return dangling.filter((i) => i.Created >= since && !inUse.has(i.Id)).map((i) => i.Id);
}
