/**
 * How plans, recipes and findings look to a person (text) and to a machine (--json).
 */
import type { Finding } from '../admin/doctor.js';
import type { Plan } from '../plan/planner.js';
import type { PipelineEvents } from '../pipeline/pipeline.js';
import type { PackageStageResult } from '../package/package-all.js';

export function planAsJson(plan: Plan, lockPath?: string): unknown {
  return {
    branch: plan.branch,
    kubernetes: plan.kubernetes,
    arch: plan.arch,
    hostArch: plan.hostArch,
    lock: lockPath,
    components: plan.components.map((c) => ({
      name: c.name,
      version: c.source.version,
      ref: c.source.ref,
      commit: c.source.commit,
      pinnedBy: c.source.pinnedBy,
      commitTime: c.source.commitTime,
      url: c.source.url,
      fetchUrl: c.source.fetchUrl,
      strategy: c.strategy,
      builder: c.builder,
      toolchain: { name: c.toolchain.name, version: c.toolchain.version, arch: c.toolchain.arch, url: c.toolchain.url, fetchUrl: c.toolchain.fetchUrl, sha256: c.toolchain.sha256, overridden: c.toolchain.overridden },
      package: c.package,
      key: c.buildKey,
    })),
    jobs: plan.jobs,
    artifacts: plan.jobs.flatMap((j) => j.artifacts.map((name) => ({ name, job: j.id, key: j.key }))),
  };
}

export function planAsText(plan: Plan, lockPath?: string): string {
  const lines: string[] = [];
  lines.push(`Plan for cri-o ${plan.branch} (Kubernetes ${plan.kubernetes}), linux/${plan.arch} on a ${plan.hostArch} host`);
  if (lockPath) lines.push(`Lock: ${lockPath}`);
  lines.push('', 'Components:');
  lines.push(
    table(
      ['component', 'version', 'ref', 'commit', 'strategy', 'toolchain', 'builder'],
      plan.components.map((c) => [
        c.name,
        c.source.version,
        `${c.source.ref.kind} ${c.source.ref.name}`,
        c.source.commit.slice(0, 12) + (c.source.pinnedBy === 'trust-on-first-use' ? ' (unpinned: first use)' : c.source.pinnedBy === 'config' ? ' (pin swapped by config)' : c.source.pinnedBy === 'in-tree' ? " (in cri-o's tree)" : ''),
        c.strategy,
        `${c.toolchain.name}${c.toolchain.overridden ? ` (overridden: ${c.toolchain.version})` : ''} linux-${c.toolchain.arch}`,
        c.builder,
      ]),
    ),
  );
  lines.push('', 'Jobs (in dependency order):');
  lines.push(table(['job', 'key', 'after', 'what'], plan.jobs.map((j) => [j.id, j.key.slice(0, 16), j.deps.join(' ') || '-', j.describe])));
  lines.push('', 'Artifacts:');
  lines.push(table(['artifact', 'key', 'made by'], plan.jobs.flatMap((j) => j.artifacts.map((a) => [a, j.key.slice(0, 16), j.id]))));
  return lines.join('\n');
}

export function findingsAsText(findings: Finding[]): string {
  return findings
    .map((f) => `${f.ok ? 'ok  ' : 'FAIL'}  ${f.check.padEnd(16)} ${f.detail}${f.fix ? `\n      fix: ${f.fix}` : ''}`)
    .join('\n');
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

/** Progress on stderr: plain timestamped lines (a live display comes with the farm's scheduler). */
export function stderrEvents(quiet: boolean): PipelineEvents {
  if (quiet) return {};
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
  let lastProgress = 0;
  return {
    stage: (name, state, detail) => {
      if (state === 'start') process.stderr.write(`${stamp()} ${name}\n`);
      else if (detail) process.stderr.write(`${stamp()} ${name}: ${detail}\n`);
    },
    step: (stage, message) => process.stderr.write(`${stamp()}   ${stage}: ${message}\n`),
    progress: (stage, what, done, total) => {
      const now = Date.now();
      if (now - lastProgress < 1000 && done !== total) return;
      lastProgress = now;
      const pct = total ? ` (${Math.floor((100 * done) / total)}%)` : '';
      process.stderr.write(`${stamp()}   ${stage}: ${what} ${(done / 2 ** 20).toFixed(1)} MiB${pct}\n`);
    },
  };
}

export function packagedAsText(r: PackageStageResult): string {
  const rows = [...r.debs.map((d) => [d.file, d.version, d.sha256.slice(0, 16)]), [r.bundle.file, '', r.bundle.sha256.slice(0, 16)]];
  const dir = r.checksumsPath.replace(/\/[^/]*$/, '');
  const sboms = r.documents.filter((d) => d.kind === 'sbom').length;
  const buildinfos = r.documents.length - sboms;
  return `Packages in ${dir}:\n${table(['file', 'version', 'sha256'], rows)}\n  beside them: ${sboms} SBOMs (<file>.spdx.json), ${buildinfos} .buildinfo files\n  checksums: ${r.checksumsPath}\n${r.warnings.map((w) => `  warning: ${w}\n`).join('')}`;
}
