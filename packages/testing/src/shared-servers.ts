import type { ServerKind } from './server-handle.js';

/** What the globalSetup tells the tests about one shared server. */
export type SharedServerInfo =
  /** The server runs; connect to `url`. */
  | { readonly url: string }
  /** The server could not start; tests that need it fail with this reason. */
  | { readonly error: string };

/** The shared servers of a run, by kind; a kind that was not requested is absent. */
export type SharedServers = Partial<Record<ServerKind, SharedServerInfo>>;

/** Every server kind, in start order. */
export const SERVER_KINDS: readonly ServerKind[] = ['postgres', 'redis', 'zookeeper', 'ferretdb'];

declare module 'vitest' {
  export interface ProvidedContext {
    /** Which shared servers a project wants, set in its vitest config's `test.provide`; default all. */
    polystoreServers: ServerKind[];
    /** Set by `@polystore/testing/global-setup`: each requested server's URL, or why it could not start. */
    polystoreSharedServers: SharedServers;
  }
}
