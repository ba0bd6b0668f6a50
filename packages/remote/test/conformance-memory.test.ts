import { describeConformance } from '@polystore/conformance';
import { openMemoryStores } from '@polystore/memory';
import { afterAll } from 'vitest';
import { startConformanceServer } from './support.js';

// http:// backed by memory: the whole suite, faults included (the suite's proxy in front of
// the HTTP server, and the server killed and restarted).
const remote = await startConformanceServer('remote-memory', (namespace, { clock, ids }) =>
  openMemoryStores({ name: `remote_${namespace}`, clock, ids }),
);
afterAll(() => remote.close());

describeConformance(remote.options);
