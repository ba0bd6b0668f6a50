import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../vitest.shared.ts';

export default mergeConfig(sharedConfig, {
  // The shared servers of the run (all kinds), for tests that run on every backend.
  test: {
    name: 'cross-package',
    include: ['**/*.test.ts'],
    globalSetup: ['@polystore/testing/global-setup'],
  },
});
