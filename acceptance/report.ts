/** The acceptance run's report: one line per step, and the same as JSON. */

export type StepStatus = 'ok' | 'failed' | 'needs-a-real-build' | 'not-run';

export interface StepResult {
  id: string;
  title: string;
  status: StepStatus;
  /** One line for the table; evidence or the error. */
  summary: string;
  /** Further lines: command output, the error's last lines. */
  details: string[];
  seconds: number;
}

export interface AcceptanceReport {
  release: string;
  title: string;
  arch: string;
  /** What the packages hold: a real build, or the test suite's miniature (binaries that only print versions). */
  build: 'real' | 'miniature' | 'unknown';
  /** How the node runs its services. */
  init: string;
  startedAt: string;
  seconds: number;
  steps: StepResult[];
  /** What this machine refused, with the error it gave (for the closing note). */
  refusals: string[];
}

const MARK: Record<StepStatus, string> = {
  ok: 'ok',
  failed: 'FAILED',
  'needs-a-real-build': 'needs-a-real-build',
  'not-run': 'not-run',
};

export function counts(r: AcceptanceReport): Record<StepStatus, number> {
  const c: Record<StepStatus, number> = { ok: 0, failed: 0, 'needs-a-real-build': 0, 'not-run': 0 };
  for (const s of r.steps) c[s.status]++;
  return c;
}

export function renderStep(s: StepResult, index: number, verbose: boolean): string {
  const head = `${String(index + 1).padStart(2)} ${s.id.padEnd(26)} ${MARK[s.status].padEnd(19)} ${s.summary}`;
  if (!verbose || s.details.length === 0) return head;
  return [head, ...s.details.flatMap((d) => d.split('\n')).map((l) => `${' '.repeat(6)}| ${l}`)].join('\n');
}

export function renderReport(r: AcceptanceReport, verbose = true): string {
  const c = counts(r);
  const lines = [
    `acceptance: ${r.title}`,
    `  release ${r.release}, arch ${r.arch}, build ${r.build}, init ${r.init}, started ${r.startedAt}, ${Math.round(r.seconds)} s`,
    '',
    ...r.steps.map((s, i) => renderStep(s, i, verbose)),
    '',
    `summary: ${c.ok} ok, ${c.failed} failed, ${c['needs-a-real-build']} need a real build, ${c['not-run']} not run`,
  ];
  if (r.refusals.length) lines.push('', 'this machine refused:', ...r.refusals.map((x) => `  - ${x}`));
  return `${lines.join('\n')}\n`;
}
