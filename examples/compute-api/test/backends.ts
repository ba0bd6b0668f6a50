import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshNamespace, freshPostgresDatabase, sharedServerUrl } from '@polystore/testing/vitest';

const tempDirs: string[] = [];

/** A fresh temp directory, removed by {@link removeTempDirs}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'compute-api-'));
  tempDirs.push(dir);
  return dir;
}

/** Removes the temp directories the SQLite cases made. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A backend the API tests run on: a name and how to get a fresh, empty store URL. */
export interface BackendCase {
  readonly name: string;
  /** A URL of a store no other test uses. */
  url(): Promise<string>;
}

function withParam(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.toString();
}

function withPath(url: string, path: string): string {
  const u = new URL(url);
  u.pathname = path;
  return u.toString();
}

/**
 * Every backend the API is tested on; adding one is one line. The servers come from the
 * harness's shared servers (see vitest.config.ts); a backend whose server did not start
 * makes its tests fail, never pass.
 */
export const BACKENDS: readonly BackendCase[] = [
  { name: 'memory', url: async () => 'memory:' },
  {
    name: 'sqlite',
    url: async () => `sqlite:${join(tempDir(), 'store.db')}`,
  },
  { name: 'postgres', url: () => freshPostgresDatabase('compute_api') },
  {
    name: 'redis',
    url: async () =>
      withParam(sharedServerUrl('redis'), 'namespace', freshNamespace('compute_api')),
  },
  {
    name: 'zookeeper',
    url: async () => withPath(sharedServerUrl('zookeeper'), `/${freshNamespace('compute_api')}`),
  },
  {
    name: 'mongo',
    url: async () => withPath(sharedServerUrl('ferretdb'), `/${freshNamespace('compute_api')}`),
  },
];
