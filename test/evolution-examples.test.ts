/**
 * The schema-evolution examples of issue 14 (a user adds a field `color` to a custom
 * resource, bumps 1.0 to 1.1 and reopens), one spec over every backend: each example runs
 * its calls on the backend and on a memory reference store with the same clock and ids,
 * and asserts the behaviour the issue asks for. Expand and backfill go through the
 * evolution SPI as `polystore schema expand` and the runner do.
 * Run: `npx vitest run --project cross-package test/evolution-examples.test.ts`.
 */
import { STORE_BACKENDS } from '@polystore/testing/vitest';
import { describe } from 'vitest';
import { addedIndexExamples } from './evolution/added-index.js';
import { addedUniqueExamples } from './evolution/added-unique.js';
import { backfilledQueryExamples } from './evolution/backfilled-queries.js';
import { driverSpiExamples } from './evolution/driver-spi.js';
import { objectVersionExamples } from './evolution/object-version.js';
import { olderCodeExamples } from './evolution/older-code.js';
import { schemaBehindExamples } from './evolution/schema-behind.js';
import { upgradedWritesExamples } from './evolution/upgraded-writes.js';

// The backends run side by side (most of the time is spent waiting on servers), each
// backend's examples one after another, each example on a fresh store.
for (const backend of STORE_BACKENDS) {
  // Generous timeouts: six backends share two cores with the rest of the run.
  describe.concurrent(`evolution examples on ${backend}`, { timeout: 90_000 }, () => {
    describe.sequential('examples', () => {
      olderCodeExamples(backend);
      schemaBehindExamples(backend);
      upgradedWritesExamples(backend);
      addedUniqueExamples(backend);
      backfilledQueryExamples(backend);
      addedIndexExamples(backend);
      objectVersionExamples(backend);
      driverSpiExamples(backend);
    });
  });
}
