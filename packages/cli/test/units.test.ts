import { MemoryBackend } from '@polystore/memory';
import { describe, expect, it } from 'vitest';
import { describeBackend, faultsFor, namespacedUrl, redactText, seedCidr } from '../src/index.js';

describe('redactText', () => {
  it('hides the URL, its password and secret parameters where they stand in a URL', () => {
    const url = 'postgres://app:p%40ss@db:5432/app?sslpassword=k3y&application_name=x';
    const text = `cannot reach ${url}; the driver tried postgres://app:p@ss@db:5432/app?sslpassword=k3y`;
    const out = redactText(text, url);
    expect(out).not.toMatch(/p@ss|p%40ss|k3y/);
    expect(out).toContain('postgres://app:***@db:5432/app');
    expect(out).toContain('application_name=x');
  });

  it('leaves text alone when the URL has no secrets', () => {
    expect(redactText('memory: is fine', 'memory:')).toBe('memory: is fine');
    // A bare word as --store: every "sqlite" in the output used to become ***.
    expect(redactText('sqlite: scheme "sqlite" needs a path', 'sqlite')).toBe(
      'sqlite: scheme "sqlite" needs a path',
    );
    expect(redactText('opened sqlite:./x.db', 'sqlite:./x.db')).toBe('opened sqlite:./x.db');
  });

  it('never blanks a short password out of unrelated text', () => {
    const url = 'redis://u:e@127.0.0.1:6379/0';
    const out = redactText(`the server said: wrong password (see ${url})`, url);
    expect(out).toBe('the server said: wrong password (see redis://u:***@127.0.0.1:6379/0)');
  });
});

describe('namespacedUrl', () => {
  it.each([
    ['memory:', 'memory:ns1'],
    ['memory:base', 'memory:base_ns1'],
    ['sqlite:./x.db', 'sqlite:./x.db?prefix=ns1_'],
    ['postgres://u:p@h/db?prefix=app_', 'postgres://u:p@h/db?prefix=app_ns1_'],
    ['redis://h:6379', 'redis://h:6379?namespace=ns1'],
    ['redis://h:6379?namespace=app', 'redis://h:6379?namespace=app_ns1'],
    ['zookeeper://h:2181', 'zookeeper://h:2181/polystore/ns1'],
    ['zookeeper://h:2181/app/', 'zookeeper://h:2181/app/ns1'],
    ['mongodb://h:27017/db', 'mongodb://h:27017/db?prefix=ns1_'],
  ])('%s -> %s', (base, expected) => {
    expect(namespacedUrl(base, 'ns1')).toBe(expected);
  });

  it('refuses a scheme it does not know, naming the ones it does', () => {
    expect(() => namespacedUrl('foo://h', 'ns1')).toThrow(/supported: memory: sqlite:/);
  });
});

describe('faultsFor', () => {
  it('proxies networked servers and calls embedded ones in-process', () => {
    expect(faultsFor('redis://127.0.0.1:7000')).toEqual({ proxy: { target: '127.0.0.1:7000' } });
    expect(faultsFor('postgres://u@db/app')).toEqual({ proxy: { target: 'db:5432' } });
    expect(faultsFor('sqlite:./x.db')).toMatchObject({ inProcess: expect.any(String) });
  });
});

describe('seedCidr', () => {
  it('is the smallest network (at most a /24) with room for n addresses', () => {
    expect(seedCidr(1)).toBe('10.128.0.0/24');
    expect(seedCidr(253)).toBe('10.128.0.0/24');
    expect(seedCidr(254)).toBe('10.128.0.0/23');
    expect(seedCidr(1_000_000)).toBe('10.128.0.0/12');
  });
});

describe('describeBackend', () => {
  it('lists public scalars and scalar options, never secrets-looking keys', () => {
    const memory = new MemoryBackend();
    const backend = Object.assign(Object.create(memory) as MemoryBackend, {
      keyspace: 'polystore:{app}',
      serverVersion: '7.2.4',
      password: 'hunter2',
      options: { prefix: 'ps_', poolSize: 10, sslPassword: 'x', apiKey: 'k' },
    });
    expect(describeBackend(backend)).toEqual([
      ['keyspace', 'polystore:{app}'],
      ['options.prefix', 'ps_'],
      ['options.poolSize', '10'],
      ['serverVersion', '7.2.4'],
    ]);
  });
});
