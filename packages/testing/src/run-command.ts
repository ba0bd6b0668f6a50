import { spawn } from 'node:child_process';

/** A program and its arguments, ready for `spawn` (never a shell string). */
export interface Command {
  /** Absolute path of the program. */
  readonly file: string;
  /** Its arguments. */
  readonly args: readonly string[];
}

/** The outcome of a finished command. */
export interface CommandResult {
  /** Exit code, or the signal that ended it. */
  readonly status: number | string;
  /** stdout and stderr, interleaved. */
  readonly output: string;
}

/**
 * Runs a short-lived command (like `initdb`) to completion and collects its output.
 *
 * @example
 * ```ts
 * const { status, output } = await runCommand({ file: '/usr/bin/true', args: [] });
 * ```
 */
export function runCommand(
  command: Command,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, command.args, {
      cwd: options.cwd,
      env: options.env ?? serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        status: code ?? signal ?? 'unknown',
        output: Buffer.concat(chunks).toString('utf8'),
      }),
    );
  });
}

/** The environment of a server process: ours, minus libpq variables (`PGDATA`, `PGPORT`, ...) that would redirect `initdb` or `postgres`. */
export function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
}
