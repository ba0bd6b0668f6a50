import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/** One vitest run over every package, the conformance suite and the cross-package tests. */
export default defineConfig({
  test: {
    projects: ['packages/*', 'conformance', 'examples/*', 'test'],
    // Vitest's default is one worker fewer than the cores: one file at a time on a 2-core
    // machine, where most of a test's time is spent waiting on a database server. Two files
    // at a time took the suite from 25.6 to 17.4 min there (1,758 tests, all passing).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
