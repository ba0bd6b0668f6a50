import Keyv, { type KeyvStoreAdapter } from 'keyv';
import type { Address, PeerFactory } from '../backend-target.js';
import { FIXTURE } from '../fixture.js';
import { NotApplicableError } from '../not-applicable-error.js';
import type { Subject } from '../operation.js';
import { type RawInstance, rawInstance } from '../raw/raw-record.js';
import { cycle } from '../record-pool.js';

/** Which Keyv store to run on the backend's server. */
export type KeyvStoreKind = 'redis' | 'postgres' | 'mongo';

async function openStore(kind: KeyvStoreKind, url: string): Promise<KeyvStoreAdapter> {
  switch (kind) {
    case 'redis': {
      const { default: KeyvRedis } = await import('@keyv/redis');
      return new KeyvRedis(url) as unknown as KeyvStoreAdapter;
    }
    case 'postgres': {
      const { default: KeyvPostgres } = await import('@keyv/postgres');
      return new KeyvPostgres({ uri: url, table: 'keyv' }) as unknown as KeyvStoreAdapter;
    }
    case 'mongo': {
      const { default: KeyvMongo } = await import('@keyv/mongo');
      const store = new KeyvMongo(url, { collection: 'keyv' });
      // KeyvMongo reports a failed connect or index build only as an 'error' event and then
      // leaves every call waiting: wait for one or the other.
      await new Promise<void>((resolve, reject) => {
        store.once('error', (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          reject(
            /not implemented/i.test(message)
              ? new NotApplicableError(`@keyv/mongo cannot open on this server: ${message}`)
              : err,
          );
        });
        void store.connect.then(() => resolve());
      });
      return store as unknown as KeyvStoreAdapter;
    }
  }
}

/** Keyv on the backend's server, as a peer. */
export function keyvFactory(kind: KeyvStoreKind, url: (a: Address) => string): PeerFactory {
  return {
    name: keyvName(kind),
    ops: ['get', 'create'],
    open: (a) => keyvPeer(kind, url(a)),
  };
}

const keyvName = (kind: KeyvStoreKind) => `keyv (@keyv/${kind})`;

/**
 * Keyv on the same server: `get` and `set` of a whole instance record by key. Its `get`
 * checks the record's project and liveness, as polystore's does, and is compared. Its `set`
 * cannot do a create's work (an upsert of key and value: no existence check, no index), so
 * it is measured and shown but not compared (see `unequal`).
 */
export async function keyvPeer(kind: KeyvStoreKind, url: string): Promise<Subject> {
  const keyv = new Keyv({ store: await openStore(kind, url), namespace: 'bench' });
  keyv.on('error', () => {});
  let n = 0;
  return {
    name: keyvName(kind),
    role: 'peer',
    notes: { create: 'set of a new key' },
    statements: {
      get: 'keyv.get(id): one read of the namespaced key (GET / SELECT by key / findOne); project and liveness checked in the client',
      create: 'keyv.set(id, record): one upsert of (key, JSON value)',
    },
    unequal: {
      create:
        'Keyv set is an upsert of (key, value) with no existence check and no index maintenance; a create checks the id is free and maintains every index',
    },
    ops: {
      get: async () => {
        const ids: string[] = [];
        for (let i = 0; i < FIXTURE.readRecords; i++) {
          const r = rawInstance(FIXTURE.coldHost, n++);
          await keyv.set(r.id, r);
          ids.push(r.id);
        }
        const next = cycle(ids);
        return async () => {
          const r = (await keyv.get(next())) as RawInstance | undefined;
          if (r === undefined || r.projectId !== FIXTURE.projectId || r.deletedAt !== null)
            throw new Error('not found');
          return r;
        };
      },
      create: async () => async () => {
        const r = rawInstance('new', n++);
        await keyv.set(r.id, r);
        return r;
      },
    },
    close: () => keyv.disconnect(),
  };
}
