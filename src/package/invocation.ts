/**
 * What a run records about itself in the release record at package time (RecordedBuild), so the
 * index stage can state it in the signed provenance and `crio-build verify --rebuild` can run the
 * same build again: the command, when and where it ran, the recipes' digest, the lock, and the
 * settings that changed where sources came from (mirrors, toolchain swaps, pin swaps).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Settings } from '../settings/settings.js';
import { TOOL_VERSION } from '../core/keys.js';
import { dirDigest } from '../core/hash.js';
import { DEFAULT_RECIPES_DIR } from '../recipe/loader.js';
import type { Resolution } from '../source/resolver.js';
import type { Strategy } from '../recipe/schema.js';
import type { RecordedBuild } from './record.js';

export interface RunStart {
  invocationId: string;
  startedOn: string;
  command: string[];
}

/** Taken when a run starts. */
export function runStart(argv: readonly string[] = process.argv.slice(2), now = new Date()): RunStart {
  return { invocationId: randomUUID(), startedOn: now.toISOString(), command: ['crio-build', ...argv] };
}

/**
 * A URL (or an argument holding one) without its userinfo: a mirror may be given as
 * https://user:token@host/, and the record and the provenance are published.
 */
export function withoutCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
}

function settingsWithoutCredentials(s: Settings): RecordedBuild['settings'] {
  const clean = (u: string) => withoutCredentials(u);
  return {
    mirrors: s.mirrors.map((m) => ({ from: clean(m.from), to: clean(m.to) })),
    toolchains: Object.fromEntries(
      Object.entries(s.toolchains).map(([name, t]) => [
        name,
        { ...t, archives: Object.fromEntries(Object.entries(t.archives).map(([arch, a]) => [arch, a && { ...a, url: clean(a.url) }])) },
      ]),
    ) as Settings['toolchains'],
    components: s.components,
  };
}

export async function recordedBuild(o: {
  start: RunStart;
  settings: Settings;
  lock: Resolution;
  recipesDir?: string;
  strategy?: Strategy;
  pauseImage?: string;
  now?: Date;
}): Promise<RecordedBuild> {
  return {
    command: o.start.command.map(withoutCredentials),
    invocationId: o.start.invocationId,
    startedOn: o.start.startedOn,
    finishedOn: (o.now ?? new Date()).toISOString(),
    host: hostname(),
    toolVersion: TOOL_VERSION,
    recipesDigest: await recipesDigest(o.recipesDir),
    lock: JSON.parse(withoutCredentials(JSON.stringify(o.lock))) as Resolution,
    // Only what decides where sources come from: never hosts (endpoints, certificate paths) or the
    // cache dir; URLs without credentials (a rebuild gives its own with --mirror or --config).
    settings: settingsWithoutCredentials(o.settings),
    ...(o.strategy ? { strategy: o.strategy } : {}),
    ...(o.pauseImage ? { pauseImage: o.pauseImage } : {}),
  };
}

export function recipesDigest(dir: string = DEFAULT_RECIPES_DIR): Promise<string> {
  return dirDigest(dir, { layout: 'content', unreadableAsEmpty: true });
}
