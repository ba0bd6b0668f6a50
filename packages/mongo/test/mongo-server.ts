import type { Stores } from '@polystore/core';
import { openMongoStores } from '@polystore/mongo';
import { freshNamespace, sharedServerUrl } from '@polystore/testing/vitest';
import { MongoClient } from 'mongodb';

/** The server under test: `MONGO_URL` (any MongoDB), else the run's shared FerretDB. */
export function serverUrl(): string {
  return process.env.MONGO_URL ?? sharedServerUrl('ferretdb');
}

/** A URL of `serverUrl()` with a database no other test uses. */
export function freshUrl(prefix = 'mongo_test'): string {
  const url = new URL(serverUrl());
  url.pathname = `/${freshNamespace(prefix)}`;
  return url.href;
}

/** Opens stores on a fresh database; `drop()` removes the database and closes them. */
export async function openFresh(
  options: Parameters<typeof openMongoStores>[1] = {},
  url = freshUrl(),
): Promise<{ stores: Stores; url: string; drop: () => Promise<void> }> {
  const stores = await openMongoStores(url, options);
  return {
    stores,
    url,
    drop: async () => {
      await stores.close();
      await dropDatabase(url);
    },
  };
}

/** Drops the database of a URL. */
export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/';
  u.search = '';
  const client = new MongoClient(u.href, { serverSelectionTimeoutMS: 2_000 });
  try {
    await client.db(name).dropDatabase();
  } finally {
    await client.close();
  }
}
