import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CLI package directory. */
export const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** What a finished `polystore` process left. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the `polystore` binary from source as a child process, as the `polystore` script
 * of package.json does, with `POLYSTORE_URL` unset unless given. With `killAfterMs`, a
 * process still running then is killed and the run resolves with code `null`.
 */
export function runPolystore(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  killAfterMs?: number,
): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (env.POLYSTORE_URL === undefined) delete childEnv.POLYSTORE_URL;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(PACKAGE_DIR, 'src', 'bin.ts'), ...args],
      { cwd: PACKAGE_DIR, env: childEnv },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
