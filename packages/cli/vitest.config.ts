import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(sharedConfig, {
  test: {
    name: 'cli',
    // Every test spawns the binary from source (tsx), slow on a loaded machine.
    testTimeout: 120_000,
    // `doctor` is run against every backend, on the harness's shared servers.
    globalSetup: ['@polystore/testing/global-setup'],
    provide: { polystoreServers: ['postgres', 'redis', 'zookeeper', 'ferretdb'] },
  },
});
