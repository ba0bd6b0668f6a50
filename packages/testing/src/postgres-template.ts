import { chownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerStartError } from './errors.js';
import { runCommand } from './run-command.js';
import { runAs, type ServiceUser } from './service-user.js';
import { Watchdog } from './watchdog.js';

const templates = new Map<string, Promise<string>>();

/**
 * Fills `dataDir` with a fresh PostgreSQL cluster: `initdb` runs once per
 * process into a template, and every server gets a copy of it. initdb takes
 * about a second (most of a cold start); copying its 40 MB takes a tenth.
 * The template dir is removed when the process exits.
 *
 * @example
 * ```ts
 * await initializeCluster(initdb, user, dirs.dataDir);
 * ```
 */
export async function initializeCluster(
  initdb: string,
  user: ServiceUser | undefined,
  dataDir: string,
): Promise<void> {
  const key = `${initdb}\0${user?.uid ?? ''}`;
  let template = templates.get(key);
  if (template === undefined) {
    template = createTemplate(initdb, user);
    templates.set(key, template);
    // A failed initdb is reported to this caller; the next one tries again.
    template.catch(() => templates.delete(key));
  }
  const source = await template;
  // cp runs as the server's user, so the copy belongs to it: PostgreSQL insists on owning its data dir.
  const copy = await runCommand(
    runAs(user, { file: '/bin/cp', args: ['-a', `${source}/.`, dataDir] }),
  );
  if (copy.status !== 0) {
    throw new ServerStartError(
      'postgres',
      `copying the initdb template failed (${copy.status})`,
      copy.output,
    );
  }
}

async function createTemplate(initdb: string, user: ServiceUser | undefined): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'polystore-postgres-template-'));
  Watchdog.instance().trackDir(root);
  const dataDir = join(root, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  if (user !== undefined) {
    chownSync(root, user.uid, user.gid);
    chownSync(dataDir, user.uid, user.gid);
  }
  const command = runAs(user, {
    file: initdb,
    args: [
      `--pgdata=${dataDir}`,
      '--username=postgres',
      '--auth=trust',
      '--encoding=UTF8',
      // C collation: strings sort by code point, as the store contract demands.
      '--no-locale',
      // initdb's own fsync only matters for an OS crash, which the harness never simulates.
      '--no-sync',
      '--no-instructions',
    ],
  });
  const result = await runCommand(command, { cwd: root });
  if (result.status !== 0) {
    throw new ServerStartError('postgres', `initdb exited (${result.status})`, result.output);
  }
  return dataDir;
}
