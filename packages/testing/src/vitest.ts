export { BackendUnavailableError } from './errors.js';
export { freshNamespace } from './fresh-namespace.js';
export {
  freshStoreUrl,
  removeTempDirs,
  STORE_BACKENDS,
  type StoreBackend,
  tempDir,
} from './fresh-store-url.js';
export { freshPostgresDatabase, sharedServerUrl } from './shared-server-url.js';
export type { SharedServerInfo, SharedServers } from './shared-servers.js';
