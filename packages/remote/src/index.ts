export {
  type OpenRemoteStoresOptions,
  openRemoteStores,
  remoteAdapter,
} from './remote-adapter.js';
export type { RemoteOptions } from './remote-options.js';
export { createStoreServer, type StoreServer } from './store-server.js';
export type { StoreServerOptions } from './store-server-options.js';
export {
  loadTokenFile,
  staticTokens,
  type TokenFile,
  type TokenIdentity,
  type TokenVerifier,
} from './token-verifier.js';
