/**
 * A model of the farm's scheduler, for bench/schedule.ts: a job graph with measured job times,
 * run on imagined hosts by the same list-scheduling policy as HostPool.run (jobs.ts records give
 * the times), and the lower bound any schedule of the graph must respect.
 *
 * The policy, as in pool.ts: a job is ready when its dependencies are done; ready jobs wait in the
 * order they became ready; each in turn goes to the host native for its platform with the most free
 * slots, and waits for one while any native host exists, going to a foreign host (where it takes
 * `foreignFactor` times as long) only when its factor is at most `maxForeignFactor` or no host is
 * native for it; ties go to the host listed first; a job that waits does not hold back the ones
 * behind it. Jobs that need no host (fetch, package, index: the coordinator's) start as soon as
 * they are ready. Pure: no clock, no I/O.
 */
import type { Arch } from '../recipe/schema.js';

export interface SimJob {
  id: string;
  /** Its time on a host native for its platform (or on the coordinator). */
  seconds: number;
  deps: string[];
  /** Set for jobs that take a host slot (builds): the arch they run natively on. */
  platform?: Arch;
}

export interface SimHost {
  name: string;
  platforms: Arch[];
  slots: number;
}

export interface SimOptions {
  /** How many times longer a job of this platform takes on a host not native for it (default 1). */
  foreignFactor?: Partial<Record<Arch, number>>;
  /**
   * A job goes to a foreign host only when its foreign factor is at most this, or no host is native
   * for it. Default 1, as HostPool does: a job that would run under qemu waits for a native slot.
   * Infinity gives the earlier policy (any free host, under qemu if need be).
   */
  maxForeignFactor?: number;
}

export interface Placement {
  id: string;
  host?: string;
  native?: boolean;
  start: number;
  end: number;
}

export interface SimResult {
  makespan: number;
  placements: Placement[];
}

function check(jobs: SimJob[]): Map<string, SimJob> {
  const byId = new Map<string, SimJob>();
  for (const j of jobs) {
    if (byId.has(j.id)) throw new Error(`job ${j.id} is listed twice`);
    if (!(j.seconds >= 0)) throw new Error(`job ${j.id}: seconds must be a number >= 0, got ${j.seconds}`);
    byId.set(j.id, j);
  }
  for (const j of jobs) for (const d of j.deps) if (!byId.has(d)) throw new Error(`job ${j.id} depends on ${d}, which is not in the graph`);
  return byId;
}

export function simulate(jobs: SimJob[], hosts: SimHost[], opts: SimOptions = {}): SimResult {
  const byId = check(jobs);
  if (jobs.some((j) => j.platform) && hosts.length === 0) throw new Error('jobs need hosts, none given');
  const free = new Map(hosts.map((h) => [h.name, h.slots]));
  const done = new Set<string>();
  const started = new Set<string>();
  const placements = new Map<string, Placement>();
  const waiting: SimJob[] = [];
  const running: Placement[] = [];
  let now = 0;

  const release = () => {
    for (const j of jobs) {
      if (started.has(j.id) || waiting.includes(j) || !j.deps.every((d) => done.has(d))) continue;
      if (!j.platform) {
        const p: Placement = { id: j.id, start: now, end: now + j.seconds };
        started.add(j.id);
        running.push(p);
      } else waiting.push(j);
    }
  };
  const pump = () => {
    for (let i = 0; i < waiting.length; ) {
      const j = waiting[i]!;
      let best: SimHost | undefined;
      let bestNative = false;
      for (const h of hosts) {
        const f = free.get(h.name)!;
        if (f <= 0) continue;
        const native = h.platforms.includes(j.platform!);
        if (!native && (opts.foreignFactor?.[j.platform!] ?? 1) > (opts.maxForeignFactor ?? 1) && hosts.some((x) => x.platforms.includes(j.platform!))) continue;
        if (!best || (native && !bestNative) || (native === bestNative && f > free.get(best.name)!)) {
          best = h;
          bestNative = native;
        }
      }
      if (!best) {
        i++;
        continue;
      }
      waiting.splice(i, 1);
      free.set(best.name, free.get(best.name)! - 1);
      const seconds = bestNative ? j.seconds : j.seconds * (opts.foreignFactor?.[j.platform!] ?? 1);
      started.add(j.id);
      running.push({ id: j.id, host: best.name, native: bestNative, start: now, end: now + seconds });
    }
  };

  release();
  pump();
  while (running.length > 0) {
    now = Math.min(...running.map((p) => p.end));
    // Everything ending now, in the order it started.
    for (const p of running.filter((x) => x.end === now)) {
      running.splice(running.indexOf(p), 1);
      done.add(p.id);
      placements.set(p.id, p);
      if (p.host) free.set(p.host, free.get(p.host)! + 1);
    }
    release();
    pump();
  }
  if (done.size !== jobs.length) throw new Error(`the graph has a cycle or jobs no host can run: ${jobs.filter((j) => !done.has(j.id)).map((j) => j.id).join(', ')}`);
  return { makespan: now, placements: jobs.map((j) => placements.get(j.id)!) };
}

export interface LowerBound {
  /** The longest chain of dependent jobs (each at its native time). */
  criticalPath: number;
  /** The host jobs' time, all of it. */
  work: number;
  slots: number;
  /** max(criticalPath, work / slots): no schedule on these slots can be shorter. */
  bound: number;
  /**
   * The shortest chain after any host job (its dependents down to the end: a package, an index).
   * The host job that ends last ends at work / slots or later and its tail follows it, so
   * max(criticalPath, work / slots + minTail) is a lower bound too, a tighter one.
   */
  minTail: number;
  boundWithTail: number;
}

export function lowerBound(jobs: SimJob[], slots: number): LowerBound {
  const byId = check(jobs);
  if (!(slots > 0)) throw new Error(`slots must be > 0, got ${slots}`);
  const finish = new Map<string, number>();
  const visiting = new Set<string>();
  const eft = (id: string): number => {
    const known = finish.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) throw new Error(`the graph has a cycle through ${id}`);
    visiting.add(id);
    const j = byId.get(id)!;
    const t = Math.max(0, ...j.deps.map(eft)) + j.seconds;
    visiting.delete(id);
    finish.set(id, t);
    return t;
  };
  const criticalPath = Math.max(0, ...jobs.map((j) => eft(j.id)));
  const work = jobs.filter((j) => j.platform).reduce((s, j) => s + j.seconds, 0);
  // The longest chain of dependents after a job (not counting the job itself).
  const dependents = new Map<string, SimJob[]>(jobs.map((j) => [j.id, []]));
  for (const j of jobs) for (const d of j.deps) dependents.get(d)!.push(j);
  const tails = new Map<string, number>();
  const tail = (id: string): number => {
    const known = tails.get(id);
    if (known !== undefined) return known;
    const t = Math.max(0, ...dependents.get(id)!.map((x) => x.seconds + tail(x.id)));
    tails.set(id, t);
    return t;
  };
  const hostJobs = jobs.filter((j) => j.platform);
  const minTail = hostJobs.length ? Math.min(...hostJobs.map((j) => tail(j.id))) : 0;
  const bound = Math.max(criticalPath, work / slots);
  return { criticalPath, work, slots, bound, minTail, boundWithTail: Math.max(bound, work / slots + minTail) };
}
