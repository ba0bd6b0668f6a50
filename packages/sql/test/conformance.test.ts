import { join } from 'node:path';
import { describeConformance } from '@polystore/conformance';
import { openSqlStores } from '../src/index.js';
import { useBackends } from './support.js';

// Durable: the fault group kills the server and checks that no acknowledged write is lost.
const backends = useBackends({ durable: true });

describeConformance({
  name: 'sqlite',
  open: (namespace, { clock, ids }) =>
    openSqlStores(`sqlite:${join(backends.dir, `${namespace}.db`)}`, { clock, ids }),
  faults: {
    inProcess:
      'SQLite is embedded: the database file is opened in the process, there is no connection to break',
  },
});

describeConformance({
  name: 'postgres',
  open: (namespace, { clock, ids, route }) =>
    openSqlStores(route(`${backends.postgresUrl}?prefix=${namespace}_`), {
      clock,
      ids,
      adapter: { poolSize: 4, statementTimeoutMs: 2_000, connectTimeoutMs: 2_000 },
    }),
  faults: {
    proxy: {
      get target() {
        const url = new URL(backends.postgresUrl);
        return `${url.hostname}:${url.port}`;
      },
    },
    server: {
      kill: () => backends.server.kill(),
      restart: () => backends.server.restart(),
      pause: () => backends.server.pause(),
      resume: () => backends.server.resume(),
    },
  },
});
