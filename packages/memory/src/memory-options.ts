import { ConfigError } from '@polystore/core';

/**
 * Options of the in-memory adapter, given as `openStores('memory:', { adapter: { ... } })`
 * or `openMemoryStores({ adapter: { ... } })`, or in the URL.
 *
 * @example
 * ```ts
 * await openStores('memory:', { adapter: { name: 'shared' } }); // same as 'memory:shared'
 * ```
 */
export interface MemoryOptions {
  /**
   * Name of a shared in-process database: every open with the same name sees the same
   * records, like several clients of one server. Default `''`: a fresh database private to
   * this open. URL: `memory:<name>` (or `memory:?name=<name>`); `memory:` is private.
   */
  readonly name?: string;
}

/** {@link MemoryOptions} with every default applied. */
export type ResolvedMemoryOptions = Required<MemoryOptions>;

/** The defaults of {@link MemoryOptions}. */
export const MEMORY_DEFAULTS: ResolvedMemoryOptions = Object.freeze({ name: '' });

const OPTION_KEYS: readonly (keyof MemoryOptions)[] = ['name'];

/**
 * The adapter options of a `memory:` URL and an options object, checked and with the
 * defaults applied. The name may come from the URL's path (`memory:<name>`), its `name`
 * query parameter or `options.name`; given more than one way, they must agree. An unknown
 * option or query parameter, a non-string name or a URL with a host is a `ConfigError`.
 *
 * @example
 * ```ts
 * resolveMemoryOptions(new URL('memory:app'), {}); // { name: 'app' }
 * resolveMemoryOptions(new URL('memory:'), { name: 'app' }); // { name: 'app' }
 * resolveMemoryOptions(new URL('memory:a'), { name: 'b' }); // throws ConfigError
 * ```
 */
export function resolveMemoryOptions(url: URL, options?: MemoryOptions): ResolvedMemoryOptions {
  if (url.protocol !== 'memory:') {
    throw new ConfigError(`memory: not a memory: URL: ${url.protocol}`);
  }
  if (url.host !== '') {
    throw new ConfigError('memory: a memory: URL has no host; write memory:<name>');
  }
  const given = new Map<string, string>();
  const give = (where: string, name: string) => {
    for (const [other, value] of given) {
      if (value !== name) {
        throw new ConfigError(
          `memory: the database name is given twice and differs: ${other} ${JSON.stringify(value)}, ${where} ${JSON.stringify(name)}`,
        );
      }
    }
    given.set(where, name);
  };

  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new ConfigError(`memory: the URL path ${url.pathname} is not valid percent-encoding`);
  }
  if (path !== '') give('URL path', path);
  for (const [key, value] of url.searchParams) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(
        `memory: unknown URL parameter ${key}; known: ${OPTION_KEYS.join(', ')}`,
      );
    }
    give(`URL parameter ${key}`, value);
  }

  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new ConfigError('memory: adapter options must be an object');
  }
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === undefined) continue;
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`memory: unknown option ${key}; known: ${OPTION_KEYS.join(', ')}`);
    }
    if (typeof value !== 'string') {
      throw new ConfigError(`memory: option ${key} must be a string`);
    }
    give(`option ${key}`, value);
  }

  return Object.freeze({ name: given.values().next().value ?? MEMORY_DEFAULTS.name });
}
