import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MissingBinaryError } from './errors.js';
import { findBinary } from './find-binary.js';
import { fourLetterWord } from './four-letter-word.js';
import { INSTALL_HINTS } from './install-hints.js';
import { LOOPBACK, ManagedServer, type ServerDirs } from './managed-server.js';
import type { ServerHandle, ServerOptions } from './server-handle.js';

/** Options of {@link startZooKeeper}. */
export interface ZooKeeperOptions extends ServerOptions {
  /**
   * ZooKeeper's time unit in ms; sessions may last 2 to 20 ticks
   * (https://zookeeper.apache.org/doc/r3.8.0/zookeeperAdmin.html). Default 2000.
   */
  readonly tickTime?: number;
  /** Unsafe speed mode: `forceSync=no`, the transaction log is not fsynced. Never for fault tests. Default false. */
  readonly fast?: boolean;
  /** Extra `zoo.cfg` lines, e.g. `{ 'maxSessionTimeout': 60000 }`. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /** Extra JVM options, appended after the harness's. */
  readonly jvmOptions?: readonly string[];
}

/** A throwaway standalone ZooKeeper server. */
export type ZooKeeperServer = ServerHandle<'zookeeper'>;

/**
 * The JVM flags: a small heap, the C1 compiler only and class-data sharing
 * cut start time and memory; no perf data, because `/tmp/hsperfdata_*` files
 * would outlive a killed JVM.
 */
const JVM_OPTIONS = [
  '-Xmx256m',
  '-Xms32m',
  '-Xss512k',
  '-XX:TieredStopAtLevel=1',
  '-Xshare:auto',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
  '-Dorg.slf4j.simpleLogger.showDateTime=true',
  '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
] as const;

/**
 * Starts Debian's ZooKeeper as a standalone server (`java -cp
 * /usr/share/java/zookeeper.jar org.apache.zookeeper.server.quorum.QuorumPeerMain zoo.cfg`)
 * on a free loopback port with its own data dir, and resolves once it
 * answers `ruok` with `imok` and `srvr` says it is serving.
 *
 * Debian's `zookeeper.jar` lists its dependencies in its manifest
 * `Class-Path`, so the jar alone is the classpath; `slf4j-simple.jar` is added
 * when present so the server log is not silently dropped.
 *
 * @example
 * ```ts
 * const zk = await startZooKeeper();
 * const client = zookeeper.createClient(`127.0.0.1:${zk.port}`);
 * ```
 */
export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  const java = findBinary('java', {
    dirs: process.env.JAVA_HOME ? [join(process.env.JAVA_HOME, 'bin')] : [],
  });
  const classpath = zooKeeperClasspath();
  const config: Record<string, string | number | boolean> = {
    tickTime: options.tickTime ?? 2_000,
    // The default (60 per client IP) is hit by concurrency tests: every client is 127.0.0.1.
    maxClientCnxns: 0,
    'admin.enableServer': false,
    '4lw.commands.whitelist': 'ruok,stat,srvr,mntr',
    forceSync: options.fast ? 'no' : 'yes',
    ...options.settings,
  };
  const server = new ManagedServer({
    kind: 'zookeeper',
    stopSignal: 'SIGTERM',
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    url: (port) => `zookeeper://${LOOPBACK}:${port}`,
    command: (port: number, dirs: ServerDirs) => {
      const configFile = join(dirs.root, 'zoo.cfg');
      const lines = Object.entries({
        ...config,
        dataDir: dirs.dataDir,
        clientPort: port,
        clientPortAddress: LOOPBACK,
      }).map(([name, value]) => `${name}=${value}`);
      writeFileSync(configFile, `${lines.join('\n')}\n`);
      return {
        file: java,
        args: [
          ...JVM_OPTIONS,
          `-Djava.io.tmpdir=${dirs.root}`,
          ...(options.jvmOptions ?? []),
          '-cp',
          classpath,
          'org.apache.zookeeper.server.quorum.QuorumPeerMain',
          configFile,
        ],
      };
    },
    probe: async (port) => {
      const ruok = await fourLetterWord(port, 'ruok');
      if (ruok !== 'imok') throw new Error(`ruok answered ${JSON.stringify(ruok)}`);
      // imok only means the process is up; srvr tells whether it serves requests yet.
      const srvr = await fourLetterWord(port, 'srvr');
      if (!srvr.includes('Mode: ')) throw new Error(`srvr answered ${JSON.stringify(srvr.trim())}`);
    },
  });
  return server.start();
}

/** `$POLYSTORE_ZOOKEEPER_CLASSPATH`, else Debian's jar plus an SLF4J binding when one is installed. */
function zooKeeperClasspath(): string {
  const fromEnv = process.env.POLYSTORE_ZOOKEEPER_CLASSPATH;
  if (fromEnv) return fromEnv;
  const jar = '/usr/share/java/zookeeper.jar';
  if (!existsSync(jar))
    throw new MissingBinaryError('zookeeper.jar', INSTALL_HINTS.zookeeper, [jar]);
  const binding = '/usr/share/java/slf4j-simple.jar';
  return existsSync(binding) ? `${jar}:${binding}` : jar;
}
