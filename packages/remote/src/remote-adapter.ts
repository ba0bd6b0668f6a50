import { type Adapter, ConfigError, type Stores, type StoresOptions } from '@polystore/core';
import { type AdapterOpenOptions, resourcesOf } from '@polystore/core/adapter';
import { RemoteClient } from './remote-client.js';
import type { RemoteOptions } from './remote-options.js';
import { remoteStores } from './remote-stores.js';
import { manifestOf } from './version-manifest.js';

/** Options of {@link openRemoteStores}. */
export interface OpenRemoteStoresOptions extends StoresOptions {
  /** Client options: token, timeouts, pool size, CA. */
  readonly adapter?: RemoteOptions;
}

function tokenOf(url: URL, options: RemoteOptions): string {
  const token = options.token ?? (decodeURIComponent(url.password) || process.env.POLYSTORE_TOKEN);
  if (!token) {
    throw new ConfigError(
      'remote: no bearer token: put it in the URL (https://name:TOKEN@host:port), in adapter.token or in POLYSTORE_TOKEN',
    );
  }
  return token;
}

/**
 * Opens a remote server (`polystore serve`) as a Stores bag. The hello at open checks the
 * token and negotiates object versions: a server that cannot answer in the versions of
 * `resources` is refused here with `IncompatibleVersionError`, never on a later call.
 * The server's clock and ids stamp records; `clock` and `ids` are not used by a client.
 *
 * @example
 * ```ts
 * const stores = await openRemoteStores('https://compute:TOKEN@conductor:8443', {
 *   adapter: { timeoutMs: 3000, ca: readFileSync('conductor.pem') },
 * });
 * ```
 */
export async function openRemoteStores(
  url: string | URL,
  options: OpenRemoteStoresOptions = {},
): Promise<Stores> {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new ConfigError(
      'remote: malformed URL; expected http(s)://[name:TOKEN@]host:port[/mount]',
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`remote: expected an http: or https: URL, got ${u.protocol}`);
  }
  if (u.search || u.hash) throw new ConfigError('remote: the URL takes no query or fragment');
  const adapterOptions = (options.adapter ?? {}) as RemoteOptions;
  const resources = resourcesOf(options);
  const client = new RemoteClient(u, tokenOf(u, adapterOptions), adapterOptions);
  try {
    const info = await client.hello(manifestOf(resources));
    return remoteStores(client, info, resources);
  } catch (err) {
    await client.close();
    throw err;
  }
}

/** The `http:` / `https:` adapter: a remote polystore server behind a URL. */
export const remoteAdapter: Adapter = {
  name: 'remote',
  schemes: ['http', 'https'],
  async open() {
    // A remote server exposes the store API, never the driver SPI: openStores takes the
    // ready bag from openStores below.
    throw new ConfigError('remote: a remote server has no driver backend; open it with openStores');
  },
  openStores: (url: URL, options: AdapterOpenOptions) =>
    openRemoteStores(url, { ...options, adapter: options.adapter as RemoteOptions | undefined }),
  /**
   * A namespace is a mount of the server (`polystore serve` with `mounts`): `https://h` +
   * `ns` -> `https://h/ns`, `https://h/app` -> `https://h/app_ns`. The server decides which
   * mounts exist; an unknown one is refused at open.
   */
  namespaceUrl(url: URL, namespace: string) {
    const out = new URL(url);
    const mount = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
    out.pathname = `/${encodeURIComponent(mount ? `${mount}_${namespace}` : namespace)}`;
    return out;
  },
};
Object.freeze(remoteAdapter);
