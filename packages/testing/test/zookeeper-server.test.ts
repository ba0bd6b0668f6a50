import { expect, it } from 'vitest';
import { fourLetterWord, startZooKeeper } from '../src/index.js';
import { describeLifecycle } from './lifecycle.js';

describeLifecycle(
  'zookeeper',
  () => startZooKeeper(),
  (server) => {
    it('answers the whitelisted four-letter words', async () => {
      expect(await fourLetterWord(server().port, 'ruok')).toBe('imok');
      expect(await fourLetterWord(server().port, 'srvr')).toMatch(/Mode: standalone/);
      expect(await fourLetterWord(server().port, 'mntr')).toMatch(/zk_server_state\tstandalone/);
    });
  },
);
