import type {
  Adapter,
  AnyResource,
  Clock,
  IdGenerator,
  OpenStoresOptions,
  Stores,
} from '@polystore/core';
import type { Backend } from '@polystore/core/adapter';

/** What the suite hands to `open`: the injected clock and id generator, and the fault proxy's URL rewrite. */
export interface OpenDeps {
  /** The clock the stores must use (pass it to `createStores`/`openStores` as `clock`). */
  readonly clock: Clock;
  /** The id generator the stores must use (pass it as `ids`). */
  readonly ids: IdGenerator;
  /**
   * Rewrites `host:port` of the fault proxy's target in a URL to the proxy's own address
   * (identity outside the fault group). Pass the URL you open through it.
   */
  route(url: string): string;
}

/**
 * Opens a fresh `Stores` bag in an isolated namespace. Called many times per run with
 * distinct namespaces; the same namespace opened twice gives two clients of the same data.
 */
export type OpenStoresFn = (namespace: string, deps: OpenDeps) => Stores | Promise<Stores>;

/** Process control over the adapter's server, e.g. a `@polystore/testing` handle. */
export interface ServerControl {
  /** Crashes the server (SIGKILL); the data dir survives. */
  kill(): Promise<void>;
  /** Brings the server back on the same port with the same data. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP). */
  pause?(): void;
  /** Thaws a paused server. */
  resume?(): void;
}

/** How the fault group reaches the adapter. */
export type FaultOptions =
  | {
      /** `host:port` of the adapter's server; the suite puts its loopback TCP proxy in front of it. */
      readonly proxy: { readonly target: string };
      /** Process control over the server; with it the suite also kills and restarts it. */
      readonly server?: ServerControl;
      /** How long a call may take to fail while the backend is unreachable, in ms. Default 5000. */
      readonly failFastMs?: number;
      /** How long the same `Stores` may take to answer again after a fault heals, in ms. Default 15000. */
      readonly recoverMs?: number;
    }
  | {
      /**
       * The adapter talks to no server (it lives in the process), so network faults cannot
       * apply. The reason is printed in the report, which counts the group as not applicable.
       */
      readonly inProcess: string;
    };

/** A namespace opened with given resource definitions: its Stores bag and the backend behind it. */
export interface OpenedEvolution {
  /** The Stores bag over `backend`, opened with the given resources (closing it closes the backend). */
  readonly stores: Stores;
  /**
   * The driver backend, whose `expand`, `contract`, `appliedElements` and drivers' `rewrite`
   * the group calls; `undefined` where the adapter opens a ready Stores bag (a remote
   * server), which makes the group not applicable. Core's `openBackend` returns both.
   */
  readonly backend: Backend | undefined;
}

/**
 * Opens `namespace` with exactly `resources` (definitions of one resource at some version
 * of its history), the injected clock and ids. Called several times per namespace: each
 * call is another client of the same data, possibly with another definition. It may
 * refuse a definition the store is behind on (`SchemaBehindError`): the group opens a
 * newer definition only after it expanded the store.
 */
export type OpenEvolutionFn = (
  namespace: string,
  deps: OpenDeps,
  resources: readonly AnyResource[],
) => Promise<OpenedEvolution>;

/** How the evolution group reaches an adapter's schema evolution (expand, contract, rewrite). */
export type EvolutionOptions =
  | {
      /**
       * Opens a namespace with given definitions and returns the backend too, e.g.
       * `(ns, { clock, ids }, resources) => openBackend(urlOf(ns), { clock, ids, resources, adapters: [myAdapter] })`.
       */
      readonly open: OpenEvolutionFn;
    }
  | {
      /**
       * The adapter cannot reach a backend's `expand` (it fronts one elsewhere). The
       * reason is printed in the report, which counts the group as not applicable.
       */
      readonly notApplicable: string;
    };

/**
 * Opens `namespace` with exactly the options given (the resources, clock, ids, write policy
 * and schema check that `@polystore/migrate`'s `openUpgrade` or `joinFleet` pass) and
 * returns the Stores bag and the backend behind it: the group hands it to them as their
 * `StoreTarget`, with the namespace fixed. Each call is another process of the same data.
 * Core's `openBackend(url, { ...options, adapters: [myAdapter] })` returns both.
 */
export type OpenUpgradeFn = (
  namespace: string,
  options: OpenStoresOptions,
) => Promise<OpenedEvolution>;

/** How the upgrade group reaches an adapter for a live upgrade through `@polystore/migrate`. */
export type UpgradeOptions =
  | {
      /**
       * Opens a namespace with the options the engine or a fleet member gives, e.g.
       * `(ns, options) => openBackend(urlOf(ns), { ...options, adapters: [myAdapter] })`.
       */
      readonly open: OpenUpgradeFn;
    }
  | {
      /**
       * The live-upgrade engine cannot reach the adapter's backend (it fronts one
       * elsewhere). The reason is printed in the report, which counts the group as not
       * applicable.
       */
      readonly notApplicable: string;
    };

/** How much work each group does. */
export interface Budget {
  /** fast-check runs per property (default 100, or `CONFORMANCE_RUNS`). */
  readonly runs?: number;
  /** Most commands in one model-based sequence (default 30). */
  readonly maxCommands?: number;
  /** Concurrent clients in the concurrency group (default 4). */
  readonly clients?: number;
  /** Time limit of the linearizability checker per history, in ms (default 10000). */
  readonly checkerMs?: number;
}

/** Options of {@link describeConformance} and {@link runConformance}. */
export interface ConformanceOptions {
  /** The adapter's name, used in test titles and the report. */
  readonly name: string;
  /** Opens a fresh `Stores` bag in a namespace with the injected clock and ids. */
  readonly open: OpenStoresFn;
  /** Closes a bag (default: `stores.close()`). */
  readonly close?: (stores: Stores) => Promise<void>;
  /**
   * How to inject faults. Required: leaving it out counts the fault group as skipped and
   * fails the run. In-process adapters say `{ inProcess: 'why' }`.
   */
  readonly faults?: FaultOptions;
  /**
   * How the evolution group opens a namespace with given resource definitions and reaches
   * the backend's `expand`. Required: leaving it out counts the group's units as skipped
   * and fails the run. Adapters that cannot reach `expand` say `{ notApplicable: 'why' }`.
   */
  readonly evolution?: EvolutionOptions;
  /**
   * How the upgrade group opens a namespace for `@polystore/migrate`'s engine and fleet
   * members (a live upgrade L → M → N under load). Required: leaving it out counts the
   * group's units as skipped and fails the run. Adapters the engine cannot reach say
   * `{ notApplicable: 'why' }`.
   */
  readonly upgrade?: UpgradeOptions;
  /** Depth of the run (default: `CONFORMANCE_RUNS` or 100 runs per property). */
  readonly budget?: Budget;
  /** Fixed seed (default random; `POLYSTORE_REPLAY` replays one failure). */
  readonly seed?: number;
}

/** Options of the short form, shared by its two ways of naming the store. */
interface AdapterConformanceBase {
  /** The name in test titles and the report (default: the adapter's `name`). */
  readonly name?: string;
  /** The adapter under test; every open goes through core's `openBackend` with it. */
  readonly adapter: Adapter;
  /**
   * How to inject faults (default: from the URL: the suite's proxy in front of its
   * `host:port`, or in-process for a URL without a host). Give it to add `server` control.
   */
  readonly faults?: FaultOptions;
  /** Closes a bag (default: `stores.close()`). */
  readonly close?: (stores: Stores) => Promise<void>;
  /** Depth of the run (default: `CONFORMANCE_RUNS` or 100 runs per property). */
  readonly budget?: Budget;
  /** Fixed seed (default random; `POLYSTORE_REPLAY` replays one failure). */
  readonly seed?: number;
}

/**
 * The short form of {@link describeConformance} and {@link runConformance}: an adapter and
 * the store a URL names. The suite builds `open`, `faults`, `evolution` and `upgrade` from
 * them (`conformanceOptionsFor`), each check in a fresh namespace of that store.
 */
export type AdapterConformanceOptions = AdapterConformanceBase &
  (
    | {
        /**
         * The store, with the server's port if it has a server (`redis://127.0.0.1:6379`,
         * `memory:`); each namespace is `adapter.namespaceUrl(url, namespace)`.
         */
        readonly url: string;
        /** The URL of a fresh namespace, for an adapter without a `namespaceUrl` hook (wins over it). */
        readonly urlOf?: (namespace: string) => string;
      }
    | {
        readonly url?: undefined;
        /**
         * The URL of a fresh, isolated namespace (two opens of one namespace share data);
         * the fault proxy's target is the `host:port` these URLs name.
         */
        readonly urlOf: (namespace: string) => string;
      }
  );
