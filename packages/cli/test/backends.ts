import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshNamespace, freshPostgresDatabase, sharedServerUrl } from '@polystore/testing/vitest';

const tempDirs: string[] = [];

/** A fresh temp directory, removed by {@link removeTempDirs}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-'));
  tempDirs.push(dir);
  return dir;
}

/** Removes the temp directories the SQLite cases made. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A backend the CLI is tested on: its `stores.backend` name and a fresh store URL. */
export interface BackendCase {
  readonly name: string;
  url(): Promise<string>;
}

function with_(url: string, edit: (u: URL) => void): string {
  const u = new URL(url);
  edit(u);
  return u.toString();
}

/** Every backend; adding one is one line. A server that did not start fails its tests. */
export const BACKENDS: readonly BackendCase[] = [
  { name: 'memory', url: async () => 'memory:' },
  {
    name: 'sqlite',
    url: async () => `sqlite:${join(tempDir(), 'store.db')}`,
  },
  { name: 'postgres', url: () => freshPostgresDatabase('cli') },
  {
    name: 'redis',
    url: async () =>
      with_(sharedServerUrl('redis'), (u) =>
        u.searchParams.set('namespace', freshNamespace('cli')),
      ),
  },
  {
    name: 'zookeeper',
    url: async () =>
      with_(sharedServerUrl('zookeeper'), (u) => {
        u.pathname = `/${freshNamespace('cli')}`;
      }),
  },
  {
    name: 'mongo',
    url: async () =>
      with_(sharedServerUrl('ferretdb'), (u) => {
        u.pathname = `/${freshNamespace('cli')}`;
      }),
  },
];
