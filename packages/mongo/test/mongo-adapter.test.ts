import { describe, expect, it } from 'vitest';
import { mongoAdapter } from '../src/mongo-adapter.js';

describe('mongoAdapter.namespaceUrl', () => {
  it.each([
    // A database named: a collection prefix in it (what `polystore conformance` has done).
    ['mongodb://h:27017/db', 'mongodb://h:27017/db?prefix=ns1_'],
    ['mongodb://h:27017/db?prefix=app_', 'mongodb://h:27017/db?prefix=app_ns1_'],
    // None named: a database of its own (what freshStoreUrl gives each test's store).
    ['mongodb://h:27017/', 'mongodb://h:27017/ns1'],
    ['mongodb://h:27017', 'mongodb://h:27017/ns1'],
    ['mongodb://u:p@h:27017/?authSource=admin', 'mongodb://u:p@h:27017/ns1?authSource=admin'],
    ['mongodb+srv://c.example.net/', 'mongodb+srv://c.example.net/ns1'],
  ])('%s -> %s', (base, expected) => {
    expect(mongoAdapter.namespaceUrl?.(new URL(base), 'ns1').href).toBe(expected);
  });

  it('leaves the URL it is given unchanged', () => {
    const url = new URL('mongodb://h:27017/');
    mongoAdapter.namespaceUrl?.(url, 'ns1');
    expect(url.href).toBe('mongodb://h:27017/');
  });
});
