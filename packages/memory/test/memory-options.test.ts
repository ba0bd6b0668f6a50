import { ConfigError } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import { MEMORY_DEFAULTS, resolveMemoryOptions } from '../src/memory-options.js';

const url = (s: string) => new URL(s);

describe('resolveMemoryOptions', () => {
  it('defaults to a private database (name "") and freezes its defaults', () => {
    expect(MEMORY_DEFAULTS).toEqual({ name: '' });
    expect(Object.isFrozen(MEMORY_DEFAULTS)).toBe(true);
    expect(resolveMemoryOptions(url('memory:'))).toEqual({ name: '' });
    expect(resolveMemoryOptions(url('memory:'), {})).toEqual({ name: '' });
    expect(Object.isFrozen(resolveMemoryOptions(url('memory:')))).toBe(true);
  });

  it('takes the name from the URL path, the name parameter or the options', () => {
    expect(resolveMemoryOptions(url('memory:app'))).toEqual({ name: 'app' });
    expect(resolveMemoryOptions(url('memory:a%20b'))).toEqual({ name: 'a b' });
    expect(resolveMemoryOptions(url('memory:?name=app'))).toEqual({ name: 'app' });
    expect(resolveMemoryOptions(url('memory:'), { name: 'app' })).toEqual({ name: 'app' });
  });

  it('accepts the name given several ways when they agree, and refuses them when they differ', () => {
    expect(resolveMemoryOptions(url('memory:app?name=app'), { name: 'app' })).toEqual({
      name: 'app',
    });
    expect(() => resolveMemoryOptions(url('memory:a'), { name: 'b' })).toThrow(ConfigError);
    expect(() => resolveMemoryOptions(url('memory:a?name=b'))).toThrow(/given twice and differs/);
    expect(() => resolveMemoryOptions(url('memory:?name=a'), { name: 'b' })).toThrow(ConfigError);
    expect(() => resolveMemoryOptions(url('memory:a'), { name: '' })).toThrow(ConfigError);
  });

  it('refuses unknown options and URL parameters, naming the known ones', () => {
    expect(() => resolveMemoryOptions(url('memory:'), { nme: 'x' } as never)).toThrow(
      /unknown option nme; known: name/,
    );
    expect(() => resolveMemoryOptions(url('memory:?size=3'))).toThrow(
      /unknown URL parameter size; known: name/,
    );
    // An option left undefined is not given.
    expect(resolveMemoryOptions(url('memory:x'), { name: undefined })).toEqual({ name: 'x' });
  });

  it('refuses a non-string name, options that are not an object, a host and a bad path', () => {
    expect(() => resolveMemoryOptions(url('memory:'), { name: 3 } as never)).toThrow(
      /option name must be a string/,
    );
    expect(() => resolveMemoryOptions(url('memory:'), 'app' as never)).toThrow(ConfigError);
    expect(() => resolveMemoryOptions(url('memory://host/app'))).toThrow(/has no host/);
    expect(() => resolveMemoryOptions(url('memory:%E0%A4%A'))).toThrow(ConfigError);
    expect(() => resolveMemoryOptions(url('redis://h/0'))).toThrow(ConfigError);
  });
});
