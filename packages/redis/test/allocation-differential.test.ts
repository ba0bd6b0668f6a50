import { adminContext, createContext, type RequestContext, type Stores } from '@polystore/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openPair, outcome } from './helpers.js';

/**
 * Differential runs of allocation against the memory reference model: random IPv4 and
 * IPv6 networks (small, so they fill up), requested and lowest-free addresses, releases.
 */
const CONTEXTS: RequestContext[] = [
  createContext({ projectId: 'p1' }),
  createContext({ projectId: 'p2' }),
  adminContext(),
];
const VMS = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'];

const network = fc.oneof(
  fc
    .record({
      a: fc.nat(255),
      b: fc.nat(255),
      prefix: fc.integer({ min: 27, max: 32 }),
      k: fc.nat(63),
      gw: fc.option(fc.nat(7)),
    })
    .map(({ a, b, prefix, k, gw }) => {
      const size = 2 ** (32 - prefix);
      const base = (k * size) % 256;
      const addr = (n: number) => `10.${a}.${b}.${(base + n) % 256}`;
      return {
        cidr: `${addr(0)}/${prefix}`,
        gateway: gw === null ? null : addr(gw),
        candidates: Array.from({ length: 10 }, (_, n) => addr(n)),
      };
    }),
  fc
    .record({
      head: fc.constantFrom('2001:db8', 'fe80', '', '2001:db8:0:0:1'),
      prefix: fc.integer({ min: 122, max: 128 }),
      gw: fc.option(fc.nat(5)),
      tail: fc.constantFrom(0, 0x40, 0xff00, 0x10000),
    })
    .map(({ head, prefix, gw, tail }) => {
      const hi = Math.floor(tail / 0x10000);
      const lo = tail % 0x10000;
      const addr = (n: number) => `${head}::${hi.toString(16)}:${(lo + n).toString(16)}`;
      return {
        cidr: `${addr(0)}/${prefix}`,
        gateway: gw === null ? null : addr(gw),
        candidates: Array.from({ length: 10 }, (_, n) => addr(n)),
      };
    }),
);

const command = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('network' as const), net: network, ctx: fc.nat(2) }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('allocate' as const),
      ctx: fc.nat(2),
      net: fc.nat(3),
      vm: fc.nat(1),
      offset: fc.option(fc.integer({ min: 1, max: 6 }), { freq: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('release' as const), ctx: fc.nat(2), ip: fc.nat(8) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('releaseAll' as const), ctx: fc.nat(2), vm: fc.nat(1) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteNetwork' as const), net: fc.nat(3) }) },
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

async function run(
  s: Stores,
  c: Command,
  nets: { id: string; candidates: string[] }[],
): Promise<unknown> {
  switch (c.t) {
    case 'network': {
      const ctx = CONTEXTS[c.ctx]!;
      const { cidr, gateway } = c.net;
      return outcome(() =>
        s.networks.create(ctx, {
          label: 'n',
          cidr,
          gateway,
          ...(ctx.isAdmin ? { projectId: null } : {}),
        }),
      );
    }
    case 'allocate': {
      const net = nets.length === 0 ? undefined : nets[c.net % nets.length];
      if (!net) return 'no network';
      const address = c.offset === null ? undefined : net.candidates[c.offset];
      return outcome(() =>
        s.fixedIps.allocate(CONTEXTS[c.ctx]!, {
          networkId: net.id,
          instanceId: VMS[c.vm]!,
          ...(address === undefined ? {} : { address }),
        }),
      );
    }
    case 'release': {
      const all = (await s.fixedIps.list(adminContext(), { limit: 1000 })).items;
      const ip = all[c.ip % Math.max(all.length, 1)];
      if (!ip) return 'none';
      return outcome(() => s.fixedIps.release(CONTEXTS[c.ctx]!, ip.id));
    }
    case 'releaseAll':
      return outcome(() => s.fixedIps.releaseAllForInstance(CONTEXTS[c.ctx]!, VMS[c.vm]!));
    case 'deleteNetwork': {
      const net = nets[c.net];
      if (!net) return 'no network';
      return outcome(() => s.networks.delete(adminContext(), net.id));
    }
  }
}

const STATS = new Map<string, number>();
afterAll(() => {
  if (process.env.REDIS_DIFF_STATS)
    console.log(
      [...STATS]
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
});

describe('allocation agrees with the memory reference model', () => {
  it('on random IPv4 and IPv6 networks', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        network,
        fc.array(command, { minLength: 1, maxLength: 40, size: 'max' }),
        async (first, rest) => {
          const commands: Command[] = [{ t: 'network', net: first, ctx: 0 }, ...rest];
          const pair = await openPair();
          const nets: { id: string; candidates: string[] }[] = [];
          try {
            for (const [i, c] of commands.entries()) {
              const expected = await run(pair.memory, c, nets);
              const actual = await run(pair.redis, c, nets);
              expect(actual, `command ${i}: ${JSON.stringify(c)}`).toEqual(expected);
              const ok = (expected as { ok?: { id: string } }).ok;
              if (c.t === 'network' && ok) nets.push({ id: ok.id, candidates: c.net.candidates });
              if (process.env.REDIS_DIFF_STATS) {
                const o = expected as { ok?: unknown; error?: string };
                const k = `${c.t}:${typeof o === 'string' ? o : (o.error ?? 'ok')}`;
                STATS.set(k, (STATS.get(k) ?? 0) + 1);
              }
            }
            expect((await pair.redis.fixedIps.list(adminContext(), { limit: 1000 })).items).toEqual(
              (await pair.memory.fixedIps.list(adminContext(), { limit: 1000 })).items,
            );
          } finally {
            await pair.close();
          }
        },
      ),
      { numRuns: Number(process.env.REDIS_DIFF_RUNS ?? 40) },
    );
  });
});
