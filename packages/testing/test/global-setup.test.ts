import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestProject } from 'vitest/node';
import setup from '../src/global-setup.js';
import type { SharedServers } from '../src/shared-servers.js';
import { BackendUnavailableError, freshNamespace, sharedServerUrl } from '../src/vitest.js';
import { DRIVERS } from './drivers.js';
import { portIsFree } from './lifecycle.js';

/** The two members of TestProject that the globalSetup uses. */
function fakeProject(servers: string[]) {
  const provided: { polystoreSharedServers?: SharedServers } = {};
  const project = {
    getProvidedContext: () => ({ polystoreServers: servers }),
    provide: (key: 'polystoreSharedServers', value: SharedServers) => {
      provided[key] = value;
    },
  };
  return { project: project as unknown as TestProject, provided };
}

describe('globalSetup', () => {
  const env = { ...process.env };
  afterEach(() => {
    process.env = { ...env };
  });

  it('starts each requested server once, shares it between projects, stops it after the last teardown', async () => {
    const a = fakeProject(['redis']);
    const b = fakeProject(['redis']);
    const teardownA = await setup(a.project);
    const teardownB = await setup(b.project);
    const info = a.provided.polystoreSharedServers?.redis;
    expect(info).toEqual(b.provided.polystoreSharedServers?.redis);
    if (info === undefined || !('url' in info)) throw new Error('redis did not start');
    const key = `${freshNamespace('global_setup')}:k`;
    await DRIVERS.redis.write(info.url, key, 'v');
    await teardownA();
    expect(await DRIVERS.redis.read(info.url, key)).toBe('v');
    await teardownB();
    expect(await portIsFree(Number(new URL(info.url).port))).toBe(true);
  });

  it('without POLYSTORE_REQUIRE_ALL_BACKENDS, provides the start error for the tests to fail with', async () => {
    process.env.POLYSTORE_REDIS_SERVER = '/nonexistent/redis-server';
    delete process.env.POLYSTORE_REQUIRE_ALL_BACKENDS;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { project, provided } = fakeProject(['redis']);
    const teardown = await setup(project);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('tests that use them will fail'));
    warn.mockRestore();
    expect(provided.polystoreSharedServers?.redis).toEqual({
      error: expect.stringMatching(
        /redis-server is not installed.*apt-get install -y redis-server/,
      ),
    });
    await teardown();
  });

  it('with POLYSTORE_REQUIRE_ALL_BACKENDS=1, fails the run', async () => {
    process.env.POLYSTORE_REDIS_SERVER = '/nonexistent/redis-server';
    process.env.POLYSTORE_REQUIRE_ALL_BACKENDS = '1';
    await expect(setup(fakeProject(['redis']).project)).rejects.toThrow(
      /POLYSTORE_REQUIRE_ALL_BACKENDS=1 and some servers did not start:\n {2}redis: redis-server is not installed/,
    );
  });

  it('uses POLYSTORE_TEST_<KIND>_URL instead of starting a server', async () => {
    process.env.POLYSTORE_TEST_ZOOKEEPER_URL = 'zookeeper://10.0.0.1:2181';
    const { project, provided } = fakeProject(['zookeeper']);
    const teardown = await setup(project);
    expect(provided.polystoreSharedServers?.zookeeper).toEqual({
      url: 'zookeeper://10.0.0.1:2181',
    });
    await teardown();
  });

  it('refuses an unknown server name', async () => {
    await expect(setup(fakeProject(['mysql']).project)).rejects.toThrow(/unknown server "mysql"/);
  });
});

describe('sharedServerUrl (this package runs its own globalSetup with polystoreServers: [redis])', () => {
  it('returns the URL of a requested server', async () => {
    const url = sharedServerUrl('redis');
    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const key = `${freshNamespace('shared')}:k`;
    await DRIVERS.redis.write(url, key, 'v');
    expect(await DRIVERS.redis.read(url, key)).toBe('v');
  });

  it('fails, never skips, for a server the project did not request', () => {
    expect(() => sharedServerUrl('zookeeper')).toThrow(BackendUnavailableError);
    expect(() => sharedServerUrl('zookeeper')).toThrow(
      /provide: \{ polystoreServers: \["zookeeper"\] \}/,
    );
  });
});
