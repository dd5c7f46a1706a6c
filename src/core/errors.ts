/**
 * Errors a user can act on. The CLI prints `message` (and `hint`) without a stack trace and exits
 * with `exitCode`; anything that is not a CrioBuildError is a bug and keeps its stack.
 */
export const ExitCode = {
  ok: 0,
  jobFailed: 1,
  usage: 2,
  invalidInput: 3,
  source: 4,
  hostNotReady: 5,
  notBuiltYet: 6,
  /** Another run holds the cache or artifacts dir (EX_TEMPFAIL: try again later). */
  busy: 75,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CrioBuildError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line input: unknown branch, arch, flag value. */
export class UsageError extends CrioBuildError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/** A recipe, config or lock file that does not validate. */
export class InvalidInputError extends CrioBuildError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.invalidInput, hint);
  }
}

/** A source that cannot be reached or does not verify. */
export class SourceError extends CrioBuildError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.source, hint);
  }
}

/** The host lacks something the run needs (Docker, qemu binfmt, disk). */
export class HostNotReadyError extends CrioBuildError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.hostNotReady, hint);
  }
}

/** Control, format (bidi overrides, zero-width) and separator characters, and lone surrogates: never shown raw. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const cp = c.codePointAt(0)!;
  return SHORT_ESCAPES[c] ?? (cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`);
}

/**
 * A user-supplied string as it may appear in a message, without quotes: unprintable characters
 * escaped (`\n`, `\u001b`, `\u202e`), and at most `max` characters (the middle elided). Plain text
 * comes back unchanged.
 */
export function printable(value: string, max = 200): string {
  const chars = Array.from(value.replace(UNPRINTABLE, escapeChar));
  if (chars.length <= max) return chars.join('');
  const keep = Math.max(8, Math.floor((max - 20) / 2));
  return `${chars.slice(0, keep).join('')}…(${chars.length - 2 * keep} more)…${chars.slice(-keep).join('')}`;
}

/** A user-supplied value in double quotes, escaped and shortened like printable(). */
export function quote(value: string, max = 100): string {
  return `"${printable(value.replace(/["\\]/g, (c) => `\\${c}`), max)}"`;
}
