import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/** An error the CLI reports as one line and exits with its code; never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    /** The process exit code (default: usage error). */
    readonly exitCode: ExitCodeValue = ExitCode.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
