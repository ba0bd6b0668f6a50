import { defineConfig } from 'vitest/config';

/** One vitest run over every package, the conformance suite and the cross-package tests. */
export default defineConfig({
  test: {
    projects: ['packages/*', 'conformance', 'examples/*', 'test'],
  },
});
