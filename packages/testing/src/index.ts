export { createPostgresDatabase } from './create-postgres-database.js';
export {
  BackendUnavailableError,
  MissingBinaryError,
  MissingPackageError,
  ServerStartError,
} from './errors.js';
export { type FerretDbOptions, type FerretDbServer, startFerretDb } from './ferretdb-server.js';
export { type FindBinaryOptions, findBinary } from './find-binary.js';
export { fourLetterWord } from './four-letter-word.js';
export { freePort } from './free-port.js';
export { freshNamespace } from './fresh-namespace.js';
export { INSTALL_HINTS, type InstallableBinary } from './install-hints.js';
export { type PostgresOptions, type PostgresServer, startPostgres } from './postgres-server.js';
export { isProcessAlive, processTree } from './process-tree.js';
export { type RedisOptions, type RedisServer, startRedis } from './redis-server.js';
export { requireAllBackends } from './require-all-backends.js';
export type { ServerHandle, ServerKind, ServerOptions, StopOptions } from './server-handle.js';
export { TcpProxy, type TcpProxyMode, type TcpTarget } from './tcp-proxy.js';
export { type TimedFailure, timedFailure } from './timed-failure.js';
export { type Available, untilAvailable } from './until-available.js';
export { startZooKeeper, type ZooKeeperOptions, type ZooKeeperServer } from './zookeeper-server.js';
