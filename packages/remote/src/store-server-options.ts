import type { AnyResource, Stores } from '@polystore/core';
import type { TokenVerifier } from './token-verifier.js';

/** Options of {@link createStoreServer}. */
export interface StoreServerOptions {
  /** Maps a bearer token to an identity. Required: a server never runs without auth. */
  readonly verifyToken: TokenVerifier;
  /** Address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port to listen on; `0` picks a free one. Default `0`. */
  readonly port?: number;
  /** PEM key and certificate: with both the server speaks HTTPS only. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /**
   * The resources the served `Stores` was opened with (`openStores(url, { resources })`),
   * and only these are served. Default: the compute pack, as `openStores`.
   */
  readonly resources?: readonly AnyResource[];
  /**
   * Largest request body in bytes; larger is refused with `InvalidInputError` (HTTP 413)
   * before it is read whole. Default: twice the store's `maxRecordBytes` plus 64 KiB, so
   * every record the store accepts fits.
   */
  readonly maxBodyBytes?: number;
  /** Calls per second per token (a token bucket); over it is `UnavailableError` (HTTP 429, retriable). Default no limit. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst?: number };
  /**
   * Further stores served under a path prefix, e.g. one per cell: `http://host/cell1` reaches
   * `mounts('cell1')`. `undefined` for an unknown name (answered 404). Default none.
   */
  readonly mounts?: (name: string) => Stores | undefined;
}
