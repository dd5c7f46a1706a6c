/**
 * How a run shows its progress, chosen by where it runs:
 *   - a terminal: a live display, one line per running job (state, elapsed time, current step),
 *     finished jobs scroll above it (log-update redraws in place);
 *   - GitHub Actions: plain lines inside collapsible log groups, and the summary table written to
 *     the job summary ($GITHUB_STEP_SUMMARY) as Markdown;
 *   - anything else (a pipe, a log file): plain timestamped lines.
 * Every mode ends with the same table of every job (result, time, cache hit).
 */
import { appendFileSync } from 'node:fs';
import { createLogUpdate } from 'log-update';
import type { JobRecord } from '../pipeline/jobs.js';
import type { PipelineEvents, StageName } from '../pipeline/pipeline.js';
import { table } from './render.js';

import type { Reporter } from '../pipeline/pipeline.js';

export type ReporterMode = 'live' | 'actions' | 'plain' | 'quiet';

export function reporterMode(quiet: boolean, env = process.env, tty = Boolean(process.stderr.isTTY)): ReporterMode {
  if (quiet) return 'quiet';
  if (env.GITHUB_ACTIONS === 'true') return 'actions';
  if (tty && env.TERM !== 'dumb' && !env.CI) return 'live';
  return 'plain';
}

export function createReporter(quiet: boolean, out: NodeJS.WritableStream = process.stderr): Reporter {
  return reporterFor(reporterMode(quiet), out);
}

export function reporterFor(mode: ReporterMode, out: NodeJS.WritableStream): Reporter {
  return mode === 'live' ? new LiveReporter(out) : new LineReporter(mode, out);
}

const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;

function progressText(what: string, done: number, total: number | undefined): string {
  const pct = total ? ` (${Math.floor((100 * done) / total)}%)` : '';
  return `${what} ${(done / 2 ** 20).toFixed(1)} MiB${pct}`;
}

/** Plain lines (pipes, CI logs); under GitHub Actions each stage is a collapsible group. */
class LineReporter implements Reporter {
  private lastProgress = 0;
  /**
   * The open Actions log group ("<label> <stage>"). Groups cannot nest: while a nightly's runs go
   * on at once, a stage that starts while another run's group is open gets a plain line instead
   * (every line names its branch/arch, so the log reads right either way).
   */
  private group: string | undefined;
  constructor(
    private readonly mode: Exclude<ReporterMode, 'live'>,
    private readonly out: NodeJS.WritableStream,
  ) {}

  events(label: string): PipelineEvents {
    if (this.mode === 'quiet') return {};
    const w = (s: string) => this.out.write(s);
    const groups = this.mode === 'actions';
    return {
      stage: (name, state, detail) => {
        const key = `${label} ${name}`;
        if (state === 'start') {
          if (groups && this.group === undefined) {
            this.group = key;
            w(`::group::${key}\n`);
          } else w(`${stamp()} ${key}\n`);
        } else {
          if (detail) w(`${stamp()} ${key}: ${detail}\n`);
          if (groups && this.group === key) {
            this.group = undefined;
            w('::endgroup::\n');
          }
        }
      },
      step: (stage, message) => w(`${stamp()}   ${label} ${stage}: ${message}\n`),
      progress: (stage, what, done, total) => {
        const now = Date.now();
        if (now - this.lastProgress < 1000 && done !== total) return;
        this.lastProgress = now;
        w(`${stamp()}   ${label} ${stage}: ${progressText(what, done, total)}\n`);
      },
    };
  }

  note(message: string): void {
    if (this.mode !== 'quiet') this.out.write(`${stamp()} ${message}\n`);
  }

  finish(jobs: JobRecord[], title: string, footer: string[] = []): void {
    if (this.mode === 'actions') this.out.write('::endgroup::\n');
    this.out.write(`\n${summaryText(jobs, title)}\n${footer.map((l) => `${l}\n`).join('')}`);
    if (this.mode === 'actions' && process.env.GITHUB_STEP_SUMMARY) {
      appendFileSync(process.env.GITHUB_STEP_SUMMARY, summaryMarkdown(jobs, title, footer));
    }
  }
}

interface Live {
  stage: StageName;
  started: number;
  step: string;
}

/** A terminal: one redrawn line per active run; finished stages persist above. */
class LiveReporter implements Reporter {
  private readonly active = new Map<string, Live>();
  private readonly draw: ReturnType<typeof createLogUpdate>;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WritableStream) {
    this.draw = createLogUpdate(out as NodeJS.WriteStream, { showCursor: true });
  }

  events(label: string): PipelineEvents {
    return {
      stage: (name, state) => {
        if (state === 'start') {
          this.active.set(label, { stage: name, started: Date.now(), step: '' });
          this.timer ??= setInterval(() => this.render(), 250).unref();
        } else {
          const a = this.active.get(label);
          this.persist(`${stamp()} ${label} ${name} done${a ? ` in ${((Date.now() - a.started) / 1000).toFixed(1)}s` : ''}`);
          this.active.delete(label);
        }
        this.render();
      },
      step: (_stage, message) => {
        const a = this.active.get(label);
        if (a) a.step = message;
        // Warnings and failures stay on screen; ordinary steps only show as the current step.
        if (/^(warning|error)/i.test(message)) this.persist(`${stamp()} ${label}: ${message}`);
        this.render();
      },
      progress: (_stage, what, done, total) => {
        const a = this.active.get(label);
        if (a) a.step = progressText(what, done, total);
      },
    };
  }

  note(message: string): void {
    this.persist(`${stamp()} ${message}`);
  }

  private persist(line: string): void {
    this.draw.clear();
    this.out.write(`${line}\n`);
    this.render();
  }

  private render(): void {
    const width = (this.out as NodeJS.WriteStream).columns ?? 120;
    const lines = [...this.active].map(([label, a]) => {
      const line = `  ${label.padEnd(22)} ${a.stage.padEnd(8)} ${`${((Date.now() - a.started) / 1000).toFixed(0)}s`.padStart(5)}  ${a.step}`;
      return line.length > width - 1 ? `${line.slice(0, width - 4)}...` : line;
    });
    this.draw(lines.join('\n'));
  }

  finish(jobs: JobRecord[], title: string, footer: string[] = []): void {
    if (this.timer) clearInterval(this.timer);
    this.draw.clear();
    this.draw.done();
    this.out.write(`\n${summaryText(jobs, title)}\n${footer.map((l) => `${l}\n`).join('')}`);
  }
}

const MARK: Record<JobRecord['state'], string> = { ok: 'ok', cached: 'cached', unchanged: 'unchanged', failed: 'FAILED', skipped: 'skipped' };

function counts(jobs: JobRecord[]): string {
  const by = new Map<string, number>();
  for (const j of jobs) by.set(MARK[j.state], (by.get(MARK[j.state]) ?? 0) + 1);
  return [...by].map(([k, n]) => `${n} ${k}`).join(', ');
}

export function summaryText(jobs: JobRecord[], title: string): string {
  const rows = jobs.map((j) => [j.id, MARK[j.state], `${j.seconds.toFixed(1)}s`, j.host ?? '', j.detail]);
  return `${title}: ${counts(jobs)}\n${table(['job', 'result', 'time', 'host', 'detail'], rows)}`;
}

export function summaryMarkdown(jobs: JobRecord[], title: string, footer: string[] = []): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = jobs.map((j) => `| ${esc(j.id)} | ${MARK[j.state]} | ${j.seconds.toFixed(1)}s | ${esc(j.host ?? '')} | ${esc(j.detail)} |`);
  const extra = footer.length ? `\n\`\`\`\n${footer.join('\n')}\n\`\`\`\n` : '';
  return `### ${esc(title)}\n\n${counts(jobs)}\n\n| job | result | time | host | detail |\n|---|---|---|---|---|\n${rows.join('\n')}\n${extra}\n`;
}
