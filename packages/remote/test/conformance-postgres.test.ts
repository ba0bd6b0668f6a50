import { describeConformance } from '@polystore/conformance';
import { openSqlStores } from '@polystore/sql';
import { freshNamespace, type PostgresServer, startPostgres } from '@polystore/testing';
import { afterAll } from 'vitest';
import { startConformanceServer } from './support.js';

// The remote client opens a ready Stores bag over HTTP and never reaches the SPI: expand,
// contract and rewrite run on the server's backend, whose own suite runs the evolution group.
const REMOTE_EVOLUTION =
  "http:// exposes the store API, never the evolution SPI: expand runs on the server's backend, and that adapter's own suite runs this group";
// Nor can @polystore/migrate's engine run through it (it needs the backend's evolution SPI).
const REMOTE_UPGRADE =
  "http:// exposes the store API, never the evolution SPI the live-upgrade engine drives: the upgrade runs against the server's backend, and that adapter's own suite runs this group";

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

// Every group at the default budget: the suite opens each property run's fresh namespace
// while the run before it goes on, so opening through the server no longer sets the pace.
describeConformance({
  ...remote.options,
  evolution: { notApplicable: REMOTE_EVOLUTION },
  upgrade: { notApplicable: REMOTE_UPGRADE },
});
