import type { ServerClock } from './measure.js';
import type { Operation, Subject } from './operation.js';

/** The backends of the report, in report order. */
export const BACKENDS = ['memory', 'sqlite', 'postgres', 'redis', 'zookeeper', 'mongo'] as const;

/** One backend of the report. */
export type BackendName = (typeof BACKENDS)[number];

/** Where a client connects: the server itself, or the round-trip proxy in front of it. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** A server started for the run (none for embedded backends). */
export interface StartedServer {
  /** The server's own address. */
  readonly address: Address;
  /** What it is, for the report (e.g. `PostgreSQL 15 (fsync off)`). */
  readonly description: string;
  /** Stops it and removes its data. */
  stop(): Promise<void>;
}

/**
 * How to run one backend: start its server, build polystore's store URL, the raw driver
 * baseline and the peers for an address (the server's, or the proxy's to count round trips).
 */
export interface BackendTarget {
  readonly name: BackendName;
  /** Embedded backends have no server and no round trips. */
  readonly embedded: boolean;
  /** Starts the server; `workDir` is a scratch directory of the run. */
  start(workDir: string): Promise<StartedServer | undefined>;
  /** polystore's store URL. */
  storeUrl(address: Address | undefined, workDir: string): string;
  /** The raw driver baseline (none for memory: it is the in-process reference). */
  readonly raw?: (address: Address | undefined, workDir: string) => Promise<Subject>;
  /**
   * A second raw baseline, the best use of the raw driver (PostgreSQL: named statements;
   * Redis: writes batched per tick): the floor polystore is measured against, with a looser p50
   * goal and the raw throughput goal.
   */
  readonly floor?: (address: Address | undefined, workDir: string) => Promise<Subject>;
  /** Peer libraries on the same server. */
  readonly peers: readonly PeerFactory[];
  /** Reads the server's own time per call, where the server can say. */
  readonly serverClock?: (address: Address) => Promise<ServerClock>;
}

/** A peer library, with what it implements known before it connects. */
export interface PeerFactory {
  /** The subject name it will have. */
  readonly name: string;
  /** The operations it implements. */
  readonly ops: readonly Operation[];
  /** Connects it at an address. */
  open(address: Address): Promise<Subject>;
}
