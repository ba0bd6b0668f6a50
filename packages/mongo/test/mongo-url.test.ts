import { ConfigError, UnavailableError } from '@polystore/core';
import { MongoInvalidArgumentError, MongoServerError } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDriver } from '../src/driver-loader.js';
import { toCoreError } from '../src/errors.js';
import { checkNamespace, parseMongoUrl } from '../src/mongo-options.js';

describe('parseMongoUrl', () => {
  it("takes the adapter's own parameters out and keeps the rest for the driver", () => {
    expect(
      parseMongoUrl(
        'mongodb://u:p%40ss@h1:27017,h2:27018/app?replicaSet=rs&prefix=ps_&failFastMs=900&w=majority&ClaimWrites=true',
      ),
    ).toEqual({
      clientUrl: 'mongodb://u:p%40ss@h1:27017,h2:27018/app?replicaSet=rs&w=majority',
      hosts: 'h1:27017,h2:27018',
    });
    expect(parseMongoUrl(new URL('mongodb+srv://c.example.net/?prefix=x'))).toEqual({
      clientUrl: 'mongodb+srv://c.example.net/',
      hosts: 'c.example.net',
    });
  });

  it('refuses what is not a MongoDB URL with ConfigError, without printing secrets', () => {
    for (const bad of ['postgres://h/db', 'mongodb://', 'mongodb:///db']) {
      expect(() => parseMongoUrl(bad)).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    }
  });
});

describe('checkNamespace', () => {
  const collections = (prefix: string) => [`${prefix}instances`, `${prefix}_claims`];

  it('accepts what MongoDB accepts', () => {
    for (const [db, prefix] of [
      ['app', ''],
      ['a-b_C9', 'ps_'],
      ['été', 'a.b'],
      ['x'.repeat(63), 'é'],
    ] as const) {
      expect(() => checkNamespace(db, prefix, collections(prefix))).not.toThrow();
    }
  });

  it('refuses bad database names and reserved or malformed prefixes with ConfigError', () => {
    for (const [db, prefix, why] of [
      ['a.b', '', /contains "\."/],
      ['a$b', '', /contains "\$"/],
      ['a b', '', /contains " "/],
      ['a/b', '', /contains "\/"/],
      ['a\u0000b', '', /contains/],
      ['', '', /empty/],
      ['x'.repeat(64), '', /longer than 63 bytes/],
      ['é'.repeat(32), '', /longer than 63 bytes/],
      ['app', 'system.', /reserved system\. collections/],
      ['app', 'system.x_', /reserved/],
      ['app', '.x', /starts with "\."/],
      ['app', 'a$', /contains "\$"/],
      ['app', '\u0000', /contains/],
      ['app', 'p'.repeat(250), /namespace would exceed 255 bytes/],
    ] as const) {
      let err: unknown;
      try {
        checkNamespace(db, prefix, collections(prefix));
      } catch (e) {
        err = e;
      }
      expect(err, `${db} ${prefix}`).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(why);
    }
  });
});

describe('toCoreError', () => {
  // The driver is imported on first open; its error classes are known from then on.
  beforeAll(async () => {
    await loadDriver();
  });

  it('makes refused names and logins ConfigError, not a retriable UnavailableError', () => {
    const invalidNamespace = new MongoServerError({
      code: 73,
      message: "Invalid database specified 'été'",
    });
    // FerretDB v1 on PostgreSQL: a PLAIN login its PostgreSQL refuses.
    const pgLogin = new MongoServerError({
      code: 1,
      message:
        'failed to connect to `user=user database=x`: server error: FATAL: role "user" does not exist (SQLSTATE 28000)',
    });
    const wrongPassword = new MongoServerError({
      code: 1,
      message: 'FATAL: password authentication failed for user "u" (SQLSTATE 28P01)',
    });
    const authFailed = new MongoServerError({ code: 18, message: 'Authentication failed.' });
    const badName = new MongoInvalidArgumentError(
      "Database names cannot contain the character '.'",
    );
    for (const err of [invalidNamespace, pgLogin, wrongPassword, authFailed, badName]) {
      expect(toCoreError(err, { operation: 'open' })).toBeInstanceOf(ConfigError);
    }
    // An internal error that is not a login stays retriable.
    const other = new MongoServerError({ code: 1, message: 'database is locked' });
    expect(toCoreError(other, { operation: 'open' })).toBeInstanceOf(UnavailableError);
  });
});
