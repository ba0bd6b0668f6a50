import { randomBytes } from 'node:crypto';
import type { ConformanceOptions, OpenDeps } from '@polystore/conformance';
import type { Stores } from '@polystore/core';
import { openMemoryStores } from '@polystore/memory';
import {
  createStoreServer,
  openRemoteStores,
  type StoreServer,
  staticTokens,
} from '../src/index.js';

/** A fresh random token, long enough for the token file's rule. */
export const newToken = (): string => randomBytes(24).toString('base64url');

/**
 * A store server for the conformance suite: every `open(namespace, deps)` mounts a fresh
 * server-side Stores opened with the suite's clock and ids (so records match the model's)
 * under its own path, and opens an `http://` client to it through `deps.route`.
 */
export interface ConformanceServer {
  readonly server: StoreServer;
  readonly options: ConformanceOptions;
  close(): Promise<void>;
}

export async function startConformanceServer(
  name: string,
  openBacking: (namespace: string, deps: OpenDeps) => Stores | Promise<Stores>,
): Promise<ConformanceServer> {
  const token = newToken();
  const mounts = new Map<string, Stores>();
  const mountOf = new Map<Stores, string>();
  const server = await createStoreServer(openMemoryStores(), {
    verifyToken: staticTokens({ tokens: [{ token, role: 'service', name: 'conformance' }] }),
    mounts: (m) => mounts.get(m),
  });
  let n = 0;
  const options: ConformanceOptions = {
    name,
    open: async (namespace, deps) => {
      n += 1;
      const mount = `${namespace}-${n}`;
      const backing = await openBacking(namespace, deps);
      mounts.set(mount, backing);
      const stores = await openRemoteStores(
        deps.route(`http://conformance:${token}@${server.address}/${mount}`),
        { adapter: { timeoutMs: 2000, connectTimeoutMs: 1000 } },
      ).catch(async (err) => {
        mounts.delete(mount);
        await backing.close();
        throw err;
      });
      mountOf.set(stores, mount);
      return stores;
    },
    close: async (stores) => {
      await stores.close();
      const mount = mountOf.get(stores);
      const backing = mount === undefined ? undefined : mounts.get(mount);
      if (mount !== undefined) mounts.delete(mount);
      await backing?.close();
    },
    faults: {
      proxy: { target: server.address },
      // The server process is this one: a kill drops every connection and the port, a
      // restart listens on the same port again; the served data lives on.
      server: { kill: () => server.close(), restart: () => server.listen() },
    },
  };
  return {
    server,
    options,
    close: async () => {
      await server.close();
      for (const s of mounts.values()) await s.close();
    },
  };
}
