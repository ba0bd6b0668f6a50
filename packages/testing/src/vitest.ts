export { BackendUnavailableError } from './errors.js';
export { freshNamespace } from './fresh-namespace.js';
export { freshPostgresDatabase, sharedServerUrl } from './shared-server-url.js';
export type { SharedServerInfo, SharedServers } from './shared-servers.js';
