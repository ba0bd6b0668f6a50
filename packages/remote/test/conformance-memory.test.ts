import { describeConformance } from '@polystore/conformance';
import { openMemoryStores } from '@polystore/memory';
import { afterAll } from 'vitest';
import { startConformanceServer } from './support.js';

// The remote client opens a ready Stores bag over HTTP and never reaches the SPI: expand,
// contract and rewrite run on the server's backend, whose own suite runs the evolution group.
const REMOTE_EVOLUTION =
  "http:// exposes the store API, never the evolution SPI: expand runs on the server's backend, and that adapter's own suite runs this group";
// Nor can @polystore/migrate's engine run through it (it needs the backend's evolution SPI).
const REMOTE_UPGRADE =
  "http:// exposes the store API, never the evolution SPI the live-upgrade engine drives: the upgrade runs against the server's backend, and that adapter's own suite runs this group";

// http:// backed by memory: the whole suite, faults included (the suite's proxy in front of
// the HTTP server, and the server killed and restarted).
const remote = await startConformanceServer('remote-memory', (namespace, { clock, ids }) =>
  openMemoryStores({ name: `remote_${namespace}`, clock, ids }),
);
afterAll(() => remote.close());

describeConformance({
  ...remote.options,
  evolution: { notApplicable: REMOTE_EVOLUTION },
  upgrade: { notApplicable: REMOTE_UPGRADE },
});
