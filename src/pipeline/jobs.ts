/**
 * Job records: one line of the final summary per job (a stage of a branch/arch run, or one
 * component's build), with its result, time and whether the cache answered it. The CLI renders them
 * as a table, as a GitHub Actions job summary, and into the --json manifest.
 */
export type JobState = 'ok' | 'cached' | 'failed' | 'skipped' | 'unchanged';

export interface JobRecord {
  /** e.g. "release-1.18/arm64 build:cri-o" or "release-1.18 publish". */
  id: string;
  state: JobState;
  seconds: number;
  /** One line: what it made, why it was skipped, what failed. */
  detail: string;
  host?: string;
  /** When it ran (ISO 8601), for jobs that ran: a nightly's jobs overlap, and bench/schedule.ts reads these. */
  startedAt?: string;
  endedAt?: string;
  /** A build's container platform (where it runs natively). */
  platform?: string;
}

/** startedAt/endedAt of a job that ran from `t0` (ms since the epoch) until `t1` (default now). */
export function ranFrom(t0: number, t1 = Date.now()): Pick<JobRecord, 'startedAt' | 'endedAt' | 'seconds'> {
  return { startedAt: new Date(t0).toISOString(), endedAt: new Date(t1).toISOString(), seconds: (t1 - t0) / 1000 };
}

export class JobLog {
  readonly records: JobRecord[] = [];

  add(r: JobRecord): void {
    this.records.push(r);
  }

  /** Runs `fn` as job `id`, recording ok/failed and its time; rethrows. `detail` may come from the result. */
  async run<T>(id: string, fn: () => Promise<T>, describe: (v: T) => { state?: JobState; detail: string; host?: string } = () => ({ detail: '' })): Promise<T> {
    const t0 = Date.now();
    try {
      const v = await fn();
      const d = describe(v);
      this.add({ id, state: d.state ?? 'ok', ...ranFrom(t0), detail: d.detail, ...(d.host ? { host: d.host } : {}) });
      return v;
    } catch (err) {
      this.add({ id, state: 'failed', ...ranFrom(t0), detail: firstLine((err as Error).message) });
      throw err;
    }
  }

  skip(id: string, why: string): void {
    this.add({ id, state: 'skipped', seconds: 0, detail: why });
  }

  get failed(): boolean {
    return this.records.some((r) => r.state === 'failed');
  }
}

export function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
