import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { startRedis } from '../src/index.js';
import { describeLifecycle } from './lifecycle.js';

describeLifecycle(
  'redis',
  () => startRedis({ appendfsync: 'always' }),
  (server) => {
    it('runs with appendonly and the requested appendfsync', async () => {
      const client = new Redis(server().url);
      try {
        expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
        expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
        expect(await client.config('GET', 'dir')).toEqual(['dir', server().dataDir]);
      } finally {
        client.disconnect();
      }
    });
  },
);
