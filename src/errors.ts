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
