import { createContext, type Stores } from '@polystore/core';

/** Options of {@link seedDemoData}. */
export interface SeedOptions {
  /** How many instances to boot, each with an address. */
  readonly instances: number;
  /** The project that owns the data. Default `demo`. */
  readonly project?: string;
  /** Called after each instance with the number done so far. */
  readonly onProgress?: (done: number) => void;
}

/** What {@link seedDemoData} made. */
export interface SeedResult {
  readonly project: string;
  readonly networkId: string;
  readonly cidr: string;
  readonly instances: number;
}

/** Compute hosts the demo instances are spread over. */
export const DEMO_HOSTS = ['compute-1', 'compute-2', 'compute-3', 'compute-4'] as const;

/** The largest `instances` a seed accepts (the network is at most a /12). */
export const MAX_SEED_INSTANCES = 1_000_000;

/** The smallest network (at most a /24) with room for `n` addresses besides network, broadcast and gateway. */
export function seedCidr(n: number): string {
  let prefix = 24;
  while (2 ** (32 - prefix) < n + 3) prefix -= 1;
  return `10.128.0.0/${prefix}`;
}

/**
 * Creates a demo network and boots `instances` instances into it, each with the next
 * free address, spread over {@link DEMO_HOSTS}, with the first task states of a boot.
 */
export async function seedDemoData(stores: Stores, options: SeedOptions): Promise<SeedResult> {
  const project = options.project ?? 'demo';
  const ctx = createContext({ projectId: project, userId: 'polystore-seed' });
  const cidr = seedCidr(options.instances);
  const network = await stores.networks.create(ctx, {
    label: `seed ${new Date().toISOString()}`,
    cidr,
    gateway: cidr.replace(/0\/\d+$/, '1'),
    dnsServers: ['10.128.0.1'],
  });
  const width = String(options.instances).length;
  for (let i = 0; i < options.instances; i++) {
    const name = `demo-${String(i + 1).padStart(width, '0')}`;
    const instance = await stores.instances.create(ctx, {
      displayName: name,
      hostname: name,
      host: DEMO_HOSTS[i % DEMO_HOSTS.length]!,
      vmState: i % 5 === 4 ? 'building' : 'active',
      taskState: i % 5 === 4 ? 'spawning' : null,
      flavor: { vcpus: 1 + (i % 4), memoryMb: 1024 * (1 + (i % 4)), rootGb: 20 },
      metadata: { seeded: 'true' },
    });
    await stores.fixedIps.allocate(ctx, { networkId: network.id, instanceId: instance.id });
    options.onProgress?.(i + 1);
  }
  return { project, networkId: network.id, cidr, instances: options.instances };
}
