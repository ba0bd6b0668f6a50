import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(sharedConfig, {
  test: {
    // One FerretDB for the whole run, unless MONGO_URL points the tests at another server.
    globalSetup: ['@polystore/testing/global-setup'],
    provide: { polystoreServers: process.env.MONGO_URL ? [] : ['ferretdb'] },
  },
});
