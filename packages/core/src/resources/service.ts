import type { RequestContext } from '../context.js';
import { f } from '../schema/field.js';
import { defineResource, type RecordOf } from '../schema/resource.js';
import type { ResourceStore } from '../store.js';

/**
 * A running service process (system-wide). Processes heartbeat their code version here;
 * live upgrades advance only when every live process runs a new enough version.
 */
export const serviceResource = defineResource({
  name: 'service',
  plural: 'services',
  scope: 'global',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    host: f.string({ max: 255 }).sortable(),
    binary: f.string({ max: 64, pattern: /^[a-z0-9][a-z0-9-]*$/ }).indexed(),
    codeVersion: f.int({ min: 0 }).describe('the service version of the running code'),
    lastSeenAt: f.datetime().sortable(),
    disabled: f.bool().default(false),
  },
  unique: [['host', 'binary']],
});

/** A stored service. */
export type Service = RecordOf<typeof serviceResource>;

/** What `heartbeat` takes. */
export interface HeartbeatRequest {
  readonly host: string;
  readonly binary: string;
  readonly codeVersion: number;
}

/** The store of services (admin writes, anyone reads). */
export interface ServiceStore extends ResourceStore<typeof serviceResource> {
  /** Creates or refreshes the service `(host, binary)`: `lastSeenAt` now, the given code version. */
  heartbeat(ctx: RequestContext, request: HeartbeatRequest): Promise<Service>;
  /**
   * The lowest code version among live, enabled services of `binary`, or `null` if none.
   * Live: not deleted, and, when the Stores were opened with `serviceLeaseMs`, seen within
   * that window (a crashed process that never deregistered stops counting).
   */
  minimumVersion(ctx: RequestContext, binary: string): Promise<number | null>;
}
