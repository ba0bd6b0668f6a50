import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConformance } from '@polystore/conformance';
import { openBackend } from '@polystore/core/adapter';
import { freshNamespace, type PostgresServer, startPostgres } from '@polystore/testing';
import { afterAll } from 'vitest';
import { openSqlStores, sqlAdapter } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'polystore-sql-'));
// Durable where the fault group needs it: a commit is acknowledged only once its WAL is
// written (`synchronous_commit=on`), so a killed (SIGKILL) server replays every
// acknowledged write from the files at restart. Without fsync those files may sit in the
// kernel's page cache, which a killed process does not lose; only an OS crash would, and
// the suite never simulates one. Each of the suite's hundreds of namespaces is DDL, and
// fsyncing it on a virtual disk was most of the PostgreSQL run.
const postgres: PostgresServer = await startPostgres({
  settings: { fsync: false, full_page_writes: false },
});
const postgresUrl = await postgres.createDatabase(freshNamespace('sql'));

afterAll(async () => {
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
});

describeConformance({
  name: 'sqlite',
  open: (namespace, { clock, ids }) =>
    openSqlStores(`sqlite:${join(dir, `${namespace}.db`)}`, { clock, ids }),
  faults: {
    inProcess:
      'SQLite is embedded: the database file is opened in the process, there is no connection to break',
  },
  evolution: {
    open: (namespace, { clock, ids }, resources) =>
      openBackend(`sqlite:${join(dir, `${namespace}.db`)}`, {
        clock,
        ids,
        resources,
        adapters: [sqlAdapter],
      }),
  },
  upgrade: {
    open: (namespace, options) =>
      openBackend(`sqlite:${join(dir, `${namespace}.db`)}`, { ...options, adapters: [sqlAdapter] }),
  },
});

describeConformance({
  name: 'postgres',
  open: (namespace, { clock, ids, route }) =>
    openSqlStores(route(`${postgresUrl}?prefix=${namespace}_`), {
      clock,
      ids,
      adapter: { poolSize: 4, statementTimeoutMs: 2_000, connectTimeoutMs: 2_000 },
    }),
  faults: {
    proxy: {
      get target() {
        const url = new URL(postgresUrl);
        return `${url.hostname}:${url.port}`;
      },
    },
    server: {
      kill: () => postgres.kill(),
      restart: () => postgres.restart(),
      pause: () => postgres.pause(),
      resume: () => postgres.resume(),
    },
  },
  evolution: {
    open: (namespace, { clock, ids }, resources) =>
      openBackend(`${postgresUrl}?prefix=${namespace}_`, {
        clock,
        ids,
        resources,
        adapters: [sqlAdapter],
        adapter: { poolSize: 2, statementTimeoutMs: 2_000, connectTimeoutMs: 2_000 },
      }),
  },
  upgrade: {
    open: (namespace, options) =>
      openBackend(`${postgresUrl}?prefix=${namespace}_`, {
        ...options,
        adapters: [sqlAdapter],
        adapter: { poolSize: 2, statementTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
      }),
  },
});
