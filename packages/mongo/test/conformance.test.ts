import { describeConformance } from '@polystore/conformance';
import { openBackend } from '@polystore/core/adapter';
import { type FerretDbServer, startFerretDb } from '@polystore/testing';
import { afterAll } from 'vitest';
import { mongoAdapter, openMongoStores } from '../src/index.js';

// A dedicated FerretDB (not the run's shared one), since the fault group kills and pauses it;
// with MONGO_URL the suite runs against that server through its proxy, without process control.
const ferret: FerretDbServer | undefined = process.env.MONGO_URL
  ? undefined
  : await startFerretDb();
const base = new URL(process.env.MONGO_URL ?? ferret!.url);

afterAll(async () => {
  await ferret?.stop();
});

describeConformance({
  name: 'mongo',
  open: (namespace, { clock, ids, route }) => {
    // A database per namespace rather than a collection prefix: FerretDB's SQLite backend
    // keeps a database in one file, and thousands of tables in one file slow every DDL down.
    const url = new URL(base);
    url.pathname = `/${namespace}`;
    return openMongoStores(route(url.href), {
      clock,
      ids,
      adapter: { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000, socketTimeoutMS: 2_000 },
    });
  },
  faults: {
    proxy: { target: `${base.hostname}:${base.port || 27017}` },
    ...(ferret
      ? {
          server: {
            kill: () => ferret.kill(),
            restart: () => ferret.restart(),
            pause: () => ferret.pause(),
            resume: () => ferret.resume(),
          },
        }
      : {}),
  },
  evolution: {
    open: (namespace, { clock, ids }, resources) => {
      const url = new URL(base);
      url.pathname = `/${namespace}`;
      return openBackend(url.href, {
        clock,
        ids,
        resources,
        adapters: [mongoAdapter],
        adapter: {
          serverSelectionTimeoutMS: 1_000,
          connectTimeoutMS: 1_000,
          socketTimeoutMS: 2_000,
        },
      });
    },
  },
  upgrade: {
    open: (namespace, options) => {
      const url = new URL(base);
      url.pathname = `/${namespace}`;
      return openBackend(url.href, {
        ...options,
        adapters: [mongoAdapter],
        adapter: {
          serverSelectionTimeoutMS: 1_000,
          connectTimeoutMS: 1_000,
          socketTimeoutMS: 5_000,
        },
      });
    },
  },
});
