import { expect, it } from 'vitest';
import { freshNamespace } from '../src/index.js';

it('freshNamespace() gives unique names usable as database name, key prefix and chroot', () => {
  const names = Array.from({ length: 1_000 }, () => freshNamespace('sql_conformance'));
  expect(new Set(names).size).toBe(names.length);
  for (const name of names) {
    expect(name).toMatch(/^sql_conformance_[a-z0-9]+$/);
    expect(name.length).toBeLessThanOrEqual(63);
  }
  expect(freshNamespace()).toMatch(/^ps_[a-z0-9]+$/);
});

it('freshNamespace() refuses prefixes that would not be valid everywhere', () => {
  for (const prefix of ['', 'Upper', '1st', 'with-dash', 'a/b', 'x'.repeat(41)]) {
    expect(() => freshNamespace(prefix)).toThrow(TypeError);
  }
});
