import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(sharedConfig, {
  test: {
    name: 'testing',
    // Dogfood: the package's own globalSetup, resolved through its package exports like any consumer.
    globalSetup: ['@polystore/testing/global-setup'],
    provide: { polystoreServers: ['redis'] },
  },
});
