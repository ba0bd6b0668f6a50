import { readFileSync } from 'node:fs';
import { findBinary } from './find-binary.js';
import type { Command } from './run-command.js';

/** An unprivileged account to run a server as. */
export interface ServiceUser {
  /** Login name. */
  readonly name: string;
  /** Numeric user id. */
  readonly uid: number;
  /** Numeric primary group id. */
  readonly gid: number;
}

/**
 * The account to run a root-refusing server (PostgreSQL) as, or undefined
 * when this process is not root and the server can simply run as us.
 *
 * Prefers `postgres` (Debian's postgresql-common creates it) and falls back
 * to `nobody`, so the harness never has to create accounts.
 */
export function serviceUser(
  preferred: readonly string[] = ['postgres', 'nobody'],
): ServiceUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const accounts = readPasswd();
  for (const name of preferred) {
    const account = accounts.get(name);
    if (account !== undefined) return account;
  }
  throw new Error(
    `running as root, and none of the accounts ${preferred.join(', ')} exists to run the server as`,
  );
}

/**
 * Wraps a command so that it runs as `user`.
 *
 * `setpriv` execs the program in place (unlike `runuser` or `su`, which fork
 * and wait), so the pid we spawn is the server itself and signals reach it
 * directly.
 */
export function runAs(user: ServiceUser | undefined, command: Command): Command {
  if (user === undefined) return command;
  return {
    file: findBinary('setpriv'),
    args: [
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--init-groups',
      '--',
      command.file,
      ...command.args,
    ],
  };
}

function readPasswd(): Map<string, ServiceUser> {
  const accounts = new Map<string, ServiceUser>();
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name && uid && gid) accounts.set(name, { name, uid: Number(uid), gid: Number(gid) });
  }
  return accounts;
}
