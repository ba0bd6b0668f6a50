/**
 * `services.minimumVersion` with a lease window (`serviceLeaseMs`): a service not seen
 * within it no longer holds the fleet back. Core's service store is the same on every
 * backend; memory is its reference.
 */
import { ConfigError, createContext, ManualClock, openStores } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const admin = createContext({ isAdmin: true });

describe('minimumVersion with serviceLeaseMs', () => {
  it('ignores services whose last heartbeat is older than the window', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const stores = await openStores('memory:', { clock, serviceLeaseMs: 30_000 });
    await stores.services.heartbeat(admin, { host: 'h1', binary: 'compute', codeVersion: 3 });
    clock.advance(20_000);
    await stores.services.heartbeat(admin, { host: 'h2', binary: 'compute', codeVersion: 4 });
    expect(await stores.services.minimumVersion(admin, 'compute')).toBe(3);
    clock.advance(15_000); // h1 last seen 35 s ago, h2 15 s ago
    expect(await stores.services.minimumVersion(admin, 'compute')).toBe(4);
    clock.advance(20_000); // both out of the window
    expect(await stores.services.minimumVersion(admin, 'compute')).toBeNull();
    await stores.services.heartbeat(admin, { host: 'h1', binary: 'compute', codeVersion: 5 });
    expect(await stores.services.minimumVersion(admin, 'compute')).toBe(5);
    await stores.close();
  });

  it('counts every service without a window, and refuses a bad one', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const stores = await openStores('memory:', { clock });
    await stores.services.heartbeat(admin, { host: 'h1', binary: 'compute', codeVersion: 3 });
    clock.advance(86_400_000);
    expect(await stores.services.minimumVersion(admin, 'compute')).toBe(3);
    await stores.close();
    await expect(openStores('memory:', { serviceLeaseMs: 0 })).rejects.toBeInstanceOf(ConfigError);
  });
});
