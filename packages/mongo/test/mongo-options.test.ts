import { ConfigError } from '@polystore/core';
import { parseStoreUrl } from '@polystore/core/adapter';
import { describe, expect, it } from 'vitest';
import { MONGO_DEFAULTS, resolveMongoOptions } from '../src/mongo-options.js';

const url = (text: string) => parseStoreUrl(text);

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveMongoOptions', () => {
  it('applies the defaults, capping the driver timeouts at failFastMs', () => {
    expect(Object.isFrozen(MONGO_DEFAULTS)).toBe(true);
    expect(resolveMongoOptions(url('mongodb://h'))).toEqual({
      database: 'polystore',
      prefix: '',
      failFastMs: 5_000,
      serverSelectionTimeoutMS: 2_000,
      connectTimeoutMS: 2_000,
      socketTimeoutMS: 5_000,
      maxPoolSize: 10,
      serializeWrites: undefined,
      claimWrites: undefined,
      claimTimeoutMS: 30_000,
      clientOptions: {},
    });
    expect(resolveMongoOptions(url('mongodb://h'), { failFastMs: 800 })).toMatchObject({
      serverSelectionTimeoutMS: 800,
      connectTimeoutMS: 800,
      socketTimeoutMS: 800,
    });
  });

  it('reads the database from the path and its own parameters from the query', () => {
    const resolved = resolveMongoOptions(
      url(
        'mongodb://h1:27017,h2:27018/app?prefix=ps_&failFastMs=900&claimWrites=false&maxpoolsize=3&w=majority',
      ),
    );
    expect(resolved).toMatchObject({
      database: 'app',
      prefix: 'ps_',
      failFastMs: 900,
      claimWrites: false,
      maxPoolSize: 3,
    });
  });

  it('takes an option given both ways when the two agree, else ConfigError', () => {
    const both = url('mongodb://h/app?prefix=ps_&serializeWrites=true');
    expect(
      resolveMongoOptions(both, { database: 'app', prefix: 'ps_', serializeWrites: true }),
    ).toMatchObject({ database: 'app', prefix: 'ps_', serializeWrites: true });
    expect(configError(() => resolveMongoOptions(both, { prefix: 'other_' })).message).toMatch(
      /prefix is "other_" but the URL says "ps_"/,
    );
    expect(configError(() => resolveMongoOptions(both, { database: 'other' })).message).toMatch(
      /database/,
    );
    expect(
      configError(() => resolveMongoOptions(both, { serializeWrites: false })).message,
    ).toMatch(/serializeWrites/);
  });

  it('refuses unknown keys and values of the wrong kind', () => {
    expect(
      configError(() => resolveMongoOptions(url('mongodb://h'), { timeoutMs: 5 } as never)).message,
    ).toMatch(/unknown option timeoutMs/);
    for (const failFastMs of [0, -1, 1.5, '5000']) {
      configError(() => resolveMongoOptions(url('mongodb://h'), { failFastMs } as never));
    }
    configError(() => resolveMongoOptions(url('mongodb://h'), { claimWrites: 'yes' } as never));
    configError(() => resolveMongoOptions(url('mongodb://h'), { clientOptions: 1 } as never));
    configError(() => resolveMongoOptions(url('mongodb://h?failFastMs=soon')));
    configError(() => resolveMongoOptions(url('mongodb://h?claimWrites=1')));
    configError(() => resolveMongoOptions(url('mongodb://h?prefix=a&prefix=b')));
  });

  it('refuses a malformed database path without printing secrets', () => {
    const err = configError(() => resolveMongoOptions(url('mongodb://u:secret@h/%E0%A4%A')));
    expect(err.message).not.toContain('secret');
  });
});
