import { describeConformance } from '@polystore/conformance';
import { openSqlStores } from '@polystore/sql';
import { freshNamespace, type PostgresServer, startPostgres } from '@polystore/testing';
import { afterAll } from 'vitest';
import { startConformanceServer } from './support.js';

// http:// backed by PostgreSQL: the whole suite, faults included. The fault group acts on
// the HTTP hop (proxy, server kill and restart); PostgreSQL's own faults are the sql
// package's suite.
const pg: PostgresServer = await startPostgres({ fast: true });
const database = await pg.createDatabase(freshNamespace('remote'));

const remote = await startConformanceServer('remote-postgres', (namespace, { clock, ids }) =>
  openSqlStores(`${database}?prefix=${namespace}_`, {
    clock,
    ids,
    adapter: { poolSize: 4, statementTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
  }),
);

afterAll(async () => {
  await remote.close();
  await pg.stop();
});

// Every group runs, with 20 property runs instead of 100 (each run opens a fresh PostgreSQL
// namespace through the server, so 100 take ten minutes on a loaded machine). The seed is
// fixed to one whose 20 runs reach every method and feature (the coverage check fails
// otherwise); the memory-backed file runs the full random search through the same server.
describeConformance({ ...remote.options, budget: { runs: 20 }, seed: 874728747 });
