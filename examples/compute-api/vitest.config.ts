import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(sharedConfig, {
  test: {
    name: 'compute-api',
    // The API is tested on every backend, against the harness's shared servers.
    globalSetup: ['@polystore/testing/global-setup'],
    provide: { polystoreServers: ['postgres', 'redis', 'zookeeper', 'ferretdb'] },
  },
});
