import { ConfigError, NotFoundError, UnavailableError } from '@polystore/core';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { toCoreError } from '../src/errors.js';

const reply = (message: string): Error => new (ReplyError as new (m: string) => Error)(message);

describe('toCoreError', () => {
  it('passes core errors through', () => {
    const e = new NotFoundError('instance', 'x');
    expect(toCoreError(e, 'get')).toBe(e);
  });

  it('maps configuration replies to ConfigError', () => {
    for (const m of [
      'NOAUTH Authentication required.',
      'WRONGPASS invalid',
      'NOPERM no',
      'WRONGTYPE Operation',
    ]) {
      const e = toCoreError(reply(m), 'get');
      expect(e, m).toBeInstanceOf(ConfigError);
      expect(e.cause).toBeInstanceOf(Error);
    }
  });

  it('maps a database number the server lacks to ConfigError naming the database', () => {
    const e = toCoreError(reply('ERR DB index is out of range'), 'connect to h:6379');
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/^redis connect to h:6379: the server has no such database/);
  });

  it('maps every other reply, connection and timeout error to a retriable UnavailableError', () => {
    for (const err of [
      reply('LOADING Redis is loading the dataset in memory'),
      reply('BUSY Redis is busy running a script'),
      reply('READONLY You cannot write against a read only replica.'),
      reply('OOM command not allowed'),
      reply('ERR user_script:1: something'),
      new Error('Command timed out'),
      new Error('Connection is closed.'),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      'a string',
    ]) {
      const e = toCoreError(err, 'update');
      expect(e).toBeInstanceOf(UnavailableError);
      expect(e.retriable).toBe(true);
      expect(e.message).toMatch(/^redis update: /);
    }
  });
});
