/**
 * `crio-build verify <release> [--rebuild]`: every check of a downloaded release (verify.ts), and
 * with a rebuild asked for, the rebuild and byte-for-byte comparison (rebuild.ts), which runs only
 * from a provenance whose signature verified: otherwise its inputs cannot be trusted.
 */
import type { Settings } from '../settings/settings.js';
import type { Reporter } from '../pipeline/pipeline.js';
import type { Finding } from './checks.js';
import { rebuildAndCompare, type RebuildOutcome } from './rebuild.js';
import { verifyRelease, type VerifyResult } from './verify.js';

export interface CheckReleaseOptions {
  /** A release directory or the URL its files are downloaded from. */
  source: string;
  /** The keyring the release must be signed with; default the one published beside it. */
  keyFile?: string;
  /** Rebuild the release from its provenance and compare every file. */
  rebuild?: {
    /** The user's settings: their mirrors come before the recorded ones; their hosts build. */
    user: Pick<Settings, 'mirrors' | 'hosts'>;
    recipesDir?: string;
    /** Keep the rebuild's temp cache and artifacts dirs. */
    keep: boolean;
    reporter: Reporter;
  };
}

export interface CheckReleaseEvents {
  /** Every check is done; the rebuild, if one runs, comes next. */
  checked?: (result: VerifyResult) => void;
  /** The rebuild starts (it was asked for, and the provenance verified). */
  rebuilding?: () => void;
}

export interface CheckedRelease {
  source: string;
  /** Which key the signatures were checked against. */
  keyNote: string;
  findings: Finding[];
  /** Whether the provenance verified: only then is a rebuild run. */
  provenanceVerified: boolean;
  /** The rebuild's comparison, when one ran. */
  rebuilt?: RebuildOutcome;
}

export async function checkRelease(o: CheckReleaseOptions, events: CheckReleaseEvents = {}): Promise<CheckedRelease> {
  const result = await verifyRelease({ source: o.source, ...(o.keyFile ? { keyFile: o.keyFile } : {}) });
  try {
    events.checked?.(result);
    const checked = { source: result.release.source, keyNote: result.keyNote, findings: result.findings, provenanceVerified: Boolean(result.provenance) };
    if (!o.rebuild || !result.provenance) return checked;
    events.rebuilding?.();
    const { user, reporter } = o.rebuild;
    const rebuilt = await rebuildAndCompare({
      statement: result.provenance.statement,
      dir: result.release.dir,
      user: { mirrors: user.mirrors, ...(user.hosts ? { hosts: user.hosts } : {}) },
      ...(o.rebuild.recipesDir ? { recipesDir: o.rebuild.recipesDir } : {}),
      keep: o.rebuild.keep,
      events: (label) => reporter.events(label),
      note: (m) => reporter.note(m),
    });
    return { ...checked, rebuilt };
  } finally {
    await result.release.dispose();
  }
}
