import { describe, expect, it } from 'vitest';
import { parseMongoUrl } from '../src/mongo-url.js';

describe('parseMongoUrl', () => {
  it('takes the database and prefix out and keeps the rest for the driver', () => {
    expect(
      parseMongoUrl('mongodb://u:p%40ss@h1:27017,h2:27018/app?replicaSet=rs&prefix=ps_&w=majority'),
    ).toEqual({
      clientUrl: 'mongodb://u:p%40ss@h1:27017,h2:27018/app?replicaSet=rs&w=majority',
      hosts: 'h1:27017,h2:27018',
      database: 'app',
      prefix: 'ps_',
    });
    expect(parseMongoUrl(new URL('mongodb+srv://c.example.net/?prefix=x'))).toEqual({
      clientUrl: 'mongodb+srv://c.example.net/',
      hosts: 'c.example.net',
      database: undefined,
      prefix: 'x',
    });
    expect(parseMongoUrl('mongodb://127.0.0.1:1').database).toBeUndefined();
  });

  it('refuses what is not a MongoDB URL with ConfigError, without printing secrets', () => {
    for (const bad of ['postgres://h/db', 'mongodb://', 'mongodb:///db']) {
      expect(() => parseMongoUrl(bad)).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    }
    expect(() => parseMongoUrl('mongodb://u:secret@h/%E0%A4%A')).toThrow(
      expect.not.stringContaining('secret'),
    );
  });
});
