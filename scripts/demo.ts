// The main job for now: open stores by URL, create a network and instances, allocate
// addresses, print them. The example service (CLI issue) replaces it.
import { ConflictError, createContext, openStores } from '@polystore/core';

const url = process.env.POLYSTORE_URL ?? 'memory:';
const stores = await openStores(url);
const ctx = createContext({ projectId: 'demo', userId: 'operator' });

const net = await stores.networks.create(ctx, {
  label: 'lan',
  cidr: '10.20.0.0/28',
  gateway: '10.20.0.1',
});
console.log(`backend ${stores.backend}: network ${net.label} ${net.cidr} (gateway ${net.gateway})`);
for (const name of ['web-1', 'web-2', 'db-1']) {
  const vm = await stores.instances.create(ctx, {
    displayName: name,
    hostname: name,
    flavor: { vcpus: 2, memoryMb: 4096, rootGb: 40 },
  });
  const ip = await stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm.id });
  const spawning = await stores.instances.update(
    ctx,
    vm.id,
    { taskState: 'spawning' },
    { expected: { taskState: null } },
  );
  try {
    await stores.instances.update(
      ctx,
      vm.id,
      { taskState: 'deleting' },
      { expected: { taskState: null } },
    );
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
  }
  console.log(
    `${vm.displayName.padEnd(6)} ${ip.address.padEnd(12)} task=${spawning.taskState} rev=${spawning.revision}`,
  );
}
const page = await stores.instances.list(ctx, { orderBy: { field: 'displayName' }, limit: 2 });
console.log(
  `first page: ${page.items.map((i) => i.displayName).join(', ')}; more: ${page.next !== null}`,
);
await stores.close();
