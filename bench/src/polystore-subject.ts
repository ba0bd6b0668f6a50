import { createContext, type Stores } from '@polystore/core';
import { FIXTURE, instanceValues } from './fixture.js';
import type { Subject } from './operation.js';
import { cycle, RecordPool } from './record-pool.js';

/** Creates `n` instances on `host` through the store, a few at a time. */
async function seed(stores: Stores, host: string, n: number): Promise<string[]> {
  const ctx = createContext({ projectId: FIXTURE.projectId, userId: 'bench' });
  const ids: string[] = [];
  for (let i = 0; i < n; i += 16) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(16, n - i) }, (_, j) =>
        stores.instances.create(ctx, instanceValues(host, i + j)),
      ),
    );
    ids.push(...batch.map((r) => r.id));
  }
  return ids;
}

/**
 * The polystore side of every operation, through the public Stores API only, as an
 * application would call it.
 */
export function polystoreSubject(stores: Stores): Subject {
  const ctx = createContext({ projectId: FIXTURE.projectId, userId: 'bench' });
  let n = 0;
  return {
    name: 'polystore',
    role: 'polystore',
    ops: {
      get: async () => {
        const next = cycle(await seed(stores, FIXTURE.coldHost, FIXTURE.readRecords));
        return () => stores.instances.get(ctx, next());
      },
      create: async () => () => stores.instances.create(ctx, instanceValues('new', n++)),
      updateRevision: async () => {
        const ids = await seed(stores, FIXTURE.coldHost, FIXTURE.updateRecords);
        const pool = new RecordPool(ids.map((id) => ({ id, revision: 1 })));
        return () =>
          pool.use(async (r) => {
            const out = await stores.instances.update(
              ctx,
              r.id,
              { displayName: `vm-${n++}` },
              { expectedRevision: r.revision },
            );
            r.revision = out.revision;
            return out;
          });
      },
      updateExpected: async () => {
        const ids = await seed(stores, FIXTURE.coldHost, FIXTURE.updateRecords);
        const pool = new RecordPool(
          ids.map((id) => ({ id, taskState: null as 'spawning' | null })),
        );
        return () =>
          pool.use(async (r) => {
            const next = r.taskState === null ? 'spawning' : null;
            const out = await stores.instances.update(
              ctx,
              r.id,
              { taskState: next },
              { expected: { taskState: [r.taskState] } },
            );
            r.taskState = next;
            return out;
          });
      },
      list: async () => {
        await seed(stores, FIXTURE.hotHost, FIXTURE.hotRecords);
        return async () => {
          const page = await stores.instances.list(ctx, {
            where: { host: FIXTURE.hotHost },
            limit: FIXTURE.pageSize,
          });
          if (page.items.length !== FIXTURE.pageSize) throw new Error('short list page');
          return page;
        };
      },
      count: async () => {
        await seed(stores, FIXTURE.hotHost, 0);
        return () => stores.instances.count(ctx, { host: FIXTURE.hotHost });
      },
      allocate: async () => {
        const network = await stores.networks.create(ctx, {
          label: `bench-${n++}`,
          cidr: FIXTURE.cidr,
        });
        return () => stores.fixedIps.allocate(ctx, { networkId: network.id, instanceId: null });
      },
    },
    close: () => stores.close(),
  };
}
