import type { RequestContext } from '../context.js';
import { f } from '../schema/field.js';
import { defineResource, type RecordOf } from '../schema/resource.js';
import type { ResourceStore } from '../store.js';

/** Migration statuses. */
export const MIGRATION_STATUSES = [
  'queued',
  'preparing',
  'running',
  'post-migrating',
  'finished',
  'error',
  'failed',
  'cancelled',
] as const;

/** The statuses of a migration still in progress. */
export const IN_PROGRESS_STATUSES = ['queued', 'preparing', 'running', 'post-migrating'] as const;

/** A move of an instance between compute hosts; belongs to the instance's project. */
export const migrationResource = defineResource({
  name: 'migration',
  plural: 'migrations',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    instanceId: f.uuid().indexed(),
    sourceCompute: f.string({ max: 255 }).nullable().indexed(),
    destCompute: f.string({ max: 255 }).nullable().indexed(),
    status: f.enum(MIGRATION_STATUSES).indexed().default('queued'),
    migrationType: f
      .enum(['migration', 'resize', 'live-migration', 'evacuation'])
      .default('migration'),
    progress: f.int({ min: 0, max: 100 }).default(0),
  },
});

/** A stored migration. */
export type Migration = RecordOf<typeof migrationResource>;

/** The store of migrations. */
export interface MigrationStore extends ResourceStore<typeof migrationResource> {
  /** Live migrations in progress from or to `host`, ordered by id (at most 1000). */
  listInProgressByHost(ctx: RequestContext, host: string): Promise<Migration[]>;
}
