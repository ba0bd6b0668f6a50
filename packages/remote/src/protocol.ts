/**
 * The HTTP protocol between the remote adapter and `polystore serve`: two POST routes
 * under the URL's path, one round trip per store call.
 *
 * - `POST {base}/v1/hello` — JSON {@link HelloRequest} → {@link HelloResponse}; run once
 *   at open, it authenticates the token and negotiates object versions.
 * - `POST {base}/v1/call` — a {@link CallRequest} in JSON with tags for what JSON cannot
 *   carry (`wire-values.ts`: `undefined`, `NaN`, `-0`, `Date`, ...), so invalid input
 *   reaches core validation exactly as a local caller's would → JSON `{ value }` or `{ error }`.
 */
import type { Capabilities } from '@polystore/core';
import type { VersionManifest } from './version-manifest.js';
import type { WireError } from './wire-errors.js';

/** The protocol revision; a server refuses a hello of another one. */
export const PROTOCOL_VERSION = 1;

/** The media type of call bodies (JSON with wire tags). */
export const CALL_MEDIA_TYPE = 'application/vnd.polystore.call+json';

/** What the client sends at open. */
export interface HelloRequest {
  readonly protocol: number;
  /** The object version of each resource the client speaks, by resource name. */
  readonly manifest: VersionManifest;
}

/** What the server answers a hello with. */
export interface HelloResponse {
  readonly protocol: number;
  /** The served backend's name, e.g. `postgres`. */
  readonly backend: string;
  /** The served backend's capability manifest. */
  readonly capabilities: Capabilities;
  /** The object version of each resource the server holds. */
  readonly manifest: VersionManifest;
}

/** One store call. */
export interface CallRequest {
  /** The resource name, e.g. `instance`. */
  readonly resource: string;
  /** The store method, e.g. `update`. */
  readonly method: string;
  /** The caller's request context; a project token may only narrow it to `readDeleted`. */
  readonly ctx: unknown;
  /** The method's arguments after `ctx`, as the caller passed them. */
  readonly args: readonly unknown[];
  /** The object version of `resource` the caller speaks, when older than the server's. */
  readonly version?: string;
}

/** A call's answer. */
export type CallResponse = { readonly value: unknown } | { readonly error: WireError };
