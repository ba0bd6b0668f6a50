/**
 * The store contract, one spec over every backend: each example runs its calls on the
 * backend and on the memory reference model with the same clock and ids and expects the
 * same records or the same typed error, and asserts the documented outcome as well.
 * Several-client races, which have no single reference outcome, assert the documented one.
 * Run: `npx vitest run --project cross-package test/store-contract.test.ts`.
 */
import { STORE_BACKENDS } from '@polystore/testing/vitest';
import { describe } from 'vitest';
import { clientContract } from './contract/clients.js';
import { computeContract } from './contract/compute.js';
import { usePair } from './contract/pair.js';
import { queryContract } from './contract/queries.js';
import { recordContract } from './contract/records.js';
import { writeContract } from './contract/writes.js';

// The backends run side by side (most of the time is spent waiting on servers), each
// backend's examples one after another: they share stores and clocks.
for (const backend of STORE_BACKENDS) {
  describe.concurrent(`store contract on ${backend}`, () => {
    describe.sequential('examples', () => {
      // One store for the examples that keep to their own records (FerretDB opens slowly);
      // the list examples and the racing clients have a store each.
      const pair = usePair(backend);
      recordContract(pair);
      writeContract(pair);
      computeContract(pair);
      queryContract(backend);
      clientContract(backend);
    });
  });
}
