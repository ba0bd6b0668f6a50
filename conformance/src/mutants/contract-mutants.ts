import {
  type AnyResource,
  adminContext,
  DuplicateError,
  ExhaustedError,
  InvalidInputError,
  NotFoundError,
  type Stores,
} from '@polystore/core';
import {
  type AddressAllocator,
  allocatedRecord,
  inReadScope,
  inWriteScope,
  isUsableAddress,
  lowestFreeAddress,
  matchesWhere,
  type Predicate,
  type ReadScope,
  type ResourceDriver,
  recordComparator,
  type StoredRecord,
  sameValue,
} from '@polystore/core/adapter';
import { MemoryBackend, type MemoryTable } from '@polystore/memory/internal';
import { databasesStartingWith, mutantOpen, patchStore } from './memory-mutant.js';
import { bind, IN_PROCESS, type Mutant, mutant } from './mutants.js';

/** More rows than any test table holds: "all of them". */
const ALL = 1_000_000;
const BY_ID = { field: 'id', direction: 'asc' } as const;

/**
 * A driver whose `where` evaluation differs for some predicates: `test` answers for the
 * predicates it cares about and `undefined` for the rest, which keep the contract's meaning.
 */
function withMatcher(
  inner: ResourceDriver,
  test: (value: unknown, p: Predicate) => boolean | undefined,
): ResourceDriver {
  const matches = (r: StoredRecord, where: readonly Predicate[]) =>
    where.every((p) => test(r[p.field], p) ?? matchesWhere(r, [p]));
  return {
    ...bind(inner),
    list: async (scope, q) =>
      (await inner.list(scope, { ...q, where: [], limit: ALL }))
        .filter((r) => matches(r, q.where))
        .slice(0, q.limit),
    count: async (scope, where) =>
      (await inner.list(scope, { where: [], orderBy: BY_ID, limit: ALL, after: null })).filter(
        (r) => matches(r, where),
      ).length,
  };
}

/** A string predicate (`eq` or `in`) decided by `same` on each listed string; others untouched. */
function stringEquality(same: (stored: string, wanted: string) => boolean) {
  return (value: unknown, p: Predicate): boolean | undefined => {
    if (typeof value !== 'string') return undefined;
    if (p.op === 'eq' && typeof p.value === 'string') return same(value, p.value);
    if (p.op === 'in' && Array.isArray(p.value))
      return p.value.some((v) => (typeof v === 'string' ? same(value, v) : v === null && false));
    return undefined;
  };
}

/** A driver that stores every value of the given kind transformed (a lossy column type). */
function lossyWrites(
  inner: ResourceDriver,
  resource: AnyResource,
  kinds: readonly string[],
  transform: (v: unknown) => unknown,
): ResourceDriver {
  const lossy = (values: Readonly<Record<string, unknown>>) =>
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        k,
        resource.fields[k] && kinds.includes(resource.fields[k]!.kind) && v !== null
          ? transform(v)
          : v,
      ]),
    );
  return {
    ...bind(inner),
    insert: (record) => inner.insert({ ...record, ...lossy(record) } as StoredRecord),
    update: (scope, id, change) => inner.update(scope, id, { ...change, set: lossy(change.set) }),
  };
}

/** A driver whose reads decide project visibility with `sees` instead of equality. */
function projectMatch(
  inner: ResourceDriver,
  sees: (recordProject: string, scopeProject: string) => boolean,
): ResourceDriver {
  const visible = (r: StoredRecord, scope: ReadScope) =>
    scope.projectId === null ||
    (r.projectId === null ? scope.includeShared : sees(r.projectId, scope.projectId));
  const wide = (scope: ReadScope): ReadScope => ({ ...scope, projectId: null });
  return {
    ...bind(inner),
    get: async (scope, id) => {
      const r = await inner.get(wide(scope), id);
      return r && visible(r, scope) ? r : undefined;
    },
    getMany: async (scope, ids) =>
      (await inner.getMany(wide(scope), ids)).filter((r) => visible(r, scope)),
    list: async (scope, q) =>
      (await inner.list(wide(scope), { ...q, limit: ALL }))
        .filter((r) => visible(r, scope))
        .slice(0, q.limit),
    count: async (scope, where) =>
      (await inner.list(wide(scope), { where, orderBy: BY_ID, limit: ALL, after: null })).filter(
        (r) => visible(r, scope),
      ).length,
  };
}

/** The live fixed IPs of a network, by address. */
function takenIn(ips: MemoryTable, networkId: string): Set<string> {
  return new Set(
    [...ips.values()]
      .filter((r) => r.networkId === networkId && r.deletedAt === null)
      .map((r) => r.address as string),
  );
}

function badAddress(cidr: string): InvalidInputError {
  return new InvalidInputError('fixedIp', [
    {
      field: 'address',
      message: `must be a usable address of ${cidr} (not the network, broadcast or gateway address)`,
    },
  ]);
}

/**
 * An allocator choosing addresses with `usable` (given the network, the address and the
 * contract's answer) instead of the contract's rule.
 */
function allocatorWith(
  usable: (cidr: string, gateway: string | null, address: string, contract: boolean) => boolean,
  candidates: (cidr: string) => readonly string[] | undefined,
) {
  return (inner: AddressAllocator, tables: (name: string) => MemoryTable): AddressAllocator => ({
    releaseAllForInstance: (scope, instanceId, at) =>
      inner.releaseAllForInstance(scope, instanceId, at),
    allocate: async (scope, input) => {
      const net = tables('network').get(input.networkId);
      if (!net || !inReadScope(net, scope)) throw new NotFoundError('network', input.networkId);
      const cidr = net.cidr as string;
      const gateway = net.gateway as string | null;
      const all = candidates(cidr);
      if (all === undefined) return inner.allocate(scope, input);
      const ips = tables('fixedIp');
      const taken = takenIn(ips, net.id as string);
      const ok = (a: string) => usable(cidr, gateway, a, isUsableAddress(cidr, gateway, a));
      let address = input.address;
      if (address !== undefined) {
        if (!ok(address)) throw badAddress(cidr);
        if (taken.has(address)) throw new DuplicateError('fixedIp', ['networkId', 'address']);
      } else {
        address = all.find((a) => ok(a) && !taken.has(a));
        if (address === undefined) throw new ExhaustedError(`network ${input.networkId} is full`);
      }
      const record: StoredRecord = Object.freeze(allocatedRecord(input, address));
      ips.set(record.id, record);
      return record;
    },
  });
}

/** The addresses of a small network in order (at most 256), from the contract's own helper. */
function addressesOf(cidr: string): string[] | undefined {
  const out: string[] = [];
  const taken = new Set<string>();
  // lowestFreeAddress skips the network (and IPv4 broadcast) address: walk what it hands out.
  for (let i = 0; i < 256; i++) {
    const a = lowestFreeAddress(cidr, null, taken);
    if (a === undefined) return out;
    out.push(a);
    taken.add(a);
  }
  return undefined;
}

function ipv4Of(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** The strings of `/31` and `/32` IPv4 networks as RFC 3021 counts them: every address a host. */
function rfc3021Addresses(cidr: string): string[] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(31|32)$/.exec(cidr);
  if (!m) return undefined;
  const base = ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0;
  return m[5] === '31' ? [ipv4Of(base), ipv4Of(base + 1)] : [ipv4Of(base)];
}

/**
 * Realistic adapter bugs from the contract's corners (strings over the whole code-point
 * range, datetimes and ints at their edges, big `getMany` and full pages, cursors after
 * changes, readDeleted, namespaces, projects, allocation edges, conditional and no-op
 * updates), each with the group that must catch it.
 */
export const CONTRACT_MUTANTS: readonly Mutant[] = Object.freeze([
  mutant(
    'eq-ignores-trailing-spaces',
    'behaviour',
    "string equality ignores trailing spaces (a PAD SPACE collation): 'a' matches 'a '",
    {
      driver: (inner) =>
        withMatcher(
          inner,
          stringEquality((a, b) => a.trimEnd() === b.trimEnd()),
        ),
    },
  ),
  mutant(
    'case-insensitive-eq',
    'behaviour',
    "string equality ignores case (a _ci collation): 'a' matches 'A'",
    {
      driver: (inner) =>
        withMatcher(
          inner,
          stringEquality((a, b) => a.toLowerCase() === b.toLowerCase()),
        ),
    },
  ),
  mutant(
    'eq-as-like',
    'behaviour',
    "string equality is an unescaped LIKE: '%' and '_' in a filter value are wildcards",
    {
      driver: (inner) =>
        withMatcher(
          inner,
          stringEquality((a, b) => {
            const re = b
              .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
              .replace(/%/g, '.*')
              .replace(/_/g, '.');
            return new RegExp(`^${re}$`, 'su').test(a);
          }),
        ),
    },
  ),
  mutant(
    'in-null-never-matches',
    'behaviour',
    'an `in` list never matches a null value (SQL `IN (NULL, ...)`)',
    {
      driver: (inner) =>
        withMatcher(inner, (value, p) => (p.op === 'in' && value === null ? false : undefined)),
    },
  ),
  mutant(
    'eq-null-matches-nothing',
    'behaviour',
    'an equality with null matches nothing (SQL `= NULL` instead of `IS NULL`)',
    {
      driver: (inner) =>
        withMatcher(inner, (_value, p) => (p.op === 'eq' && p.value === null ? false : undefined)),
    },
  ),
  mutant(
    'range-compares-utf16',
    'behaviour',
    'string range filters compare UTF-16 code units (JS `<`), misplacing U+E000..U+FFFF against non-BMP',
    {
      driver: (inner) =>
        withMatcher(inner, (value, p) => {
          if (typeof value !== 'string' || typeof p.value !== 'string') return undefined;
          const v = p.value;
          if (p.op === 'gt') return value > v;
          if (p.op === 'gte') return value >= v;
          if (p.op === 'lt') return value < v;
          if (p.op === 'lte') return value <= v;
          return undefined;
        }),
    },
  ),
  mutant(
    'nfc-normalised-storage',
    'behaviour',
    'strings are stored NFC-normalised: a decomposed accent comes back composed',
    {
      driver: (inner, resource) =>
        lossyWrites(inner, resource, ['string'], (v) => (v as string).normalize('NFC')),
    },
  ),
  mutant(
    'trailing-spaces-trimmed',
    'behaviour',
    'strings are stored with trailing spaces cut (a CHAR column)',
    {
      driver: (inner, resource) =>
        lossyWrites(inner, resource, ['string'], (v) => (v as string).trimEnd()),
    },
  ),
  mutant('int32-column', 'behaviour', 'ints are stored in a 32-bit column: values past 2^31 wrap', {
    driver: (inner, resource) => lossyWrites(inner, resource, ['int'], (v) => (v as number) | 0),
  }),
  mutant(
    'lua-number-precision',
    'behaviour',
    'ints pass through a 14-digit number conversion (Lua tostring): large values are rounded',
    {
      driver: (inner, resource) =>
        lossyWrites(inner, resource, ['int'], (v) => Number((v as number).toPrecision(14))),
    },
  ),
  mutant(
    'timestamp-column-range',
    'behaviour',
    'datetimes outside 1970..2038 (a 32-bit TIMESTAMP column) are stored as 1970-01-01',
    {
      driver: (inner, resource) =>
        lossyWrites(inner, resource, ['datetime'], (v) => {
          const t = Date.parse(v as string);
          return t < 0 || t >= 2 ** 31 * 1000 ? '1970-01-01T00:00:00.000Z' : v;
        }),
    },
  ),
  mutant(
    'datetime-seconds-precision',
    'behaviour',
    'datetimes are stored to the second (a DATETIME(0) column): milliseconds are lost',
    {
      driver: (inner, resource) =>
        lossyWrites(inner, resource, ['datetime'], (v) => `${(v as string).slice(0, 19)}.000Z`),
    },
  ),
  mutant(
    'get-many-first-batch-only',
    'behaviour',
    'getMany fetches ids in batches of 100 and returns after the first batch',
    {
      driver: (inner) => ({
        ...bind(inner),
        getMany: (scope, ids) => inner.getMany(scope, ids.slice(0, 100)),
      }),
    },
  ),
  mutant(
    'get-many-live-only',
    'behaviour',
    'getMany ignores readDeleted: a hard-coded `deleted_at IS NULL`',
    {
      driver: (inner) => ({
        ...bind(inner),
        getMany: (scope, ids) => inner.getMany({ ...scope, deleted: 'no' }, ids),
      }),
    },
  ),
  mutant(
    'get-only-as-yes',
    'behaviour',
    "get treats readDeleted 'only' like 'yes': live records come back too",
    {
      driver: (inner) => ({
        ...bind(inner),
        get: (scope, id) =>
          inner.get(scope.deleted === 'only' ? { ...scope, deleted: 'yes' } : scope, id),
      }),
    },
  ),
  mutant(
    'list-only-as-no',
    'behaviour',
    "list treats readDeleted 'only' like 'no' (the mode is compared with 'yes' only)",
    {
      driver: (inner) => ({
        ...bind(inner),
        list: (scope, q) =>
          inner.list(scope.deleted === 'only' ? { ...scope, deleted: 'no' } : scope, q),
      }),
    },
  ),
  mutant(
    'rows-capped-at-1000',
    'invariants',
    'list returns at most 1000 rows, so a full page of 1000 never has a next page',
    {
      driver: (inner) => ({
        ...bind(inner),
        list: (scope, q) => inner.list(scope, { ...q, limit: Math.min(q.limit, 1000) }),
      }),
    },
  ),
  mutant(
    'cursor-follows-moved-row',
    'invariants',
    "a cursor is resolved by looking up its row's current sort value (ZRANK of the id): a page after a changed or deleted row starts in the wrong place",
    {
      driver: (inner, _resource, tables) => ({
        ...bind(inner),
        list: async (scope, q) => {
          if (q.after === null) return inner.list(scope, q);
          const row = tables(_resource.name).get(q.after.id);
          if (!row || !inReadScope(row, scope)) return [];
          const value = row[q.orderBy.field] as string | number;
          return inner.list(scope, { ...q, after: { value, id: q.after.id } });
        },
      }),
    },
  ),
  mutant(
    'desc-ties-resume-ascending',
    'invariants',
    'a descending page resumes ties by ascending id (`id > $after` whatever the direction)',
    {
      driver: (inner) => ({
        ...bind(inner),
        list: async (scope, q) => {
          if (q.after === null || q.orderBy.direction === 'asc') return inner.list(scope, q);
          const { value, id } = q.after;
          const all = await inner.list(scope, { ...q, after: null, limit: ALL });
          const cmp = recordComparator({ field: q.orderBy.field, direction: 'asc' });
          const probe = { [q.orderBy.field]: value, id: '' } as Record<string, unknown>;
          return all
            .filter((r) => {
              const c = cmp(r, probe);
              const tie = sameValue(r[q.orderBy.field], value);
              return tie ? (r.id as string) > id : c < 0;
            })
            .slice(0, q.limit);
        },
      }),
    },
  ),
  {
    name: 'namespace-prefix-scan',
    bug: 'reads scan keys by namespace prefix without a separator: namespace `x` also sees `x9`',
    caughtBy: 'isolation',
    options: () => ({
      name: 'namespace-prefix-scan',
      faults: IN_PROCESS,
      open: (namespace, deps) =>
        mutantOpen({
          driver: (inner, resource) => {
            const others = () =>
              databasesStartingWith(namespace).map((db) => new MemoryBackend(db).driver(resource));
            return {
              ...bind(inner),
              get: async (scope, id) => {
                for (const d of others()) {
                  const r = await d.get(scope, id);
                  if (r) return r;
                }
                return undefined;
              },
              getMany: async (scope, ids) =>
                (await Promise.all(others().map((d) => d.getMany(scope, ids)))).flat(),
              list: async (scope, q) =>
                (await Promise.all(others().map((d) => d.list(scope, q))))
                  .flat()
                  .sort(recordComparator(q.orderBy))
                  .slice(0, q.limit),
              count: async (scope, where) =>
                (await Promise.all(others().map((d) => d.count(scope, where)))).reduce(
                  (a, b) => a + b,
                  0,
                ),
            };
          },
        })(namespace, deps),
    }),
  },
  {
    name: 'read-cache-across-clients',
    bug: "each client caches get by id and drops an entry only on its own writes: another client's update is not seen",
    caughtBy: 'isolation',
    options: () => ({
      name: 'read-cache-across-clients',
      faults: IN_PROCESS,
      open: (namespace, deps) => {
        const cache = new Map<string, unknown>();
        return mutantOpen({
          stores: (s: Stores) =>
            patchStore(s, 'instances', async (method, call, args) => {
              const key = JSON.stringify(args);
              if (method === 'get') {
                if (cache.has(key)) return cache.get(key);
                const out = await call(...args);
                cache.set(key, out);
                return out;
              }
              if (method === 'update' || method === 'delete') cache.clear();
              return call(...args);
            }),
        })(namespace, deps);
      },
    }),
  },
  mutant(
    'project-prefix-match',
    'isolation',
    "reads match the project by prefix (`LIKE 'p1%'`, a key pattern `p1*`): p1 sees p10's rows",
    { driver: (inner) => projectMatch(inner, (r, s) => r.startsWith(s)) },
  ),
  mutant(
    'project-case-insensitive',
    'isolation',
    "reads compare project ids ignoring case: p1 sees P1's rows",
    { driver: (inner) => projectMatch(inner, (r, s) => r.toLowerCase() === s.toLowerCase()) },
  ),
  mutant(
    'project-filter-overrides-scope',
    'isolation',
    "a `projectId` filter replaces the context's project (`{ ...scope, ...where }`)",
    {
      driver: (inner) => {
        const widened = (scope: ReadScope, where: readonly Predicate[]) => {
          const p = where.find((w) => w.field === 'projectId' && w.op === 'eq');
          return p && scope.projectId !== null && typeof p.value === 'string'
            ? { ...scope, projectId: p.value }
            : scope;
        };
        return {
          ...bind(inner),
          list: (scope, q) => inner.list(widened(scope, q.where), q),
          count: (scope, where) => inner.count(widened(scope, where), where),
        };
      },
    },
  ),
  mutant(
    'shared-deletable-by-projects',
    'isolation',
    'delete checks the read scope, so any project may delete a shared network',
    {
      driver: (inner, _resource, tables) => ({
        ...bind(inner),
        delete: (scope, id, change) => {
          const r = tables(_resource.name).get(id);
          return inner.delete(r && r.projectId === null ? { projectId: null } : scope, id, change);
        },
      }),
    },
  ),
  mutant(
    'rfc3021-small-networks',
    'behaviour',
    'IPv4 /31 and /32 networks hand out every address (RFC 3021) where the contract allows none',
    {
      allocator: allocatorWith(
        (cidr, gateway, address, contract) =>
          contract || (rfc3021Addresses(cidr)?.includes(address) === true && address !== gateway),
        (cidr) => rfc3021Addresses(cidr),
      ),
    },
  ),
  mutant(
    'ipv6-last-address-reserved',
    'behaviour',
    'IPv6 networks keep their last address back as if it were a broadcast address',
    {
      allocator: allocatorWith(
        (cidr, _gateway, address, contract) => {
          if (!contract || !cidr.includes(':')) return contract;
          const all = addressesOf(cidr);
          return all === undefined || address !== all[all.length - 1];
        },
        (cidr) => (cidr.includes(':') ? addressesOf(cidr) : undefined),
      ),
    },
  ),
  {
    name: 'release-all-keeps-address-index',
    bug: 'releaseAllForInstance removes the fixed IPs but not their entries in the address index: a released address cannot be taken again',
    caughtBy: 'behaviour',
    options: () => ({
      name: 'release-all-keeps-address-index',
      faults: IN_PROCESS,
      open: mutantOpen({
        allocator: (inner, tables) => {
          const stale = new WeakMap<MemoryTable, Set<string>>();
          const staleOf = (t: MemoryTable) => {
            const s = stale.get(t) ?? new Set<string>();
            stale.set(t, s);
            return s;
          };
          return {
            releaseAllForInstance: async (scope, instanceId, at) => {
              const ips = tables('fixedIp');
              for (const r of ips.values())
                if (r.instanceId === instanceId && inWriteScope(r, scope))
                  staleOf(ips).add(`${String(r.networkId)} ${String(r.address)}`);
              return inner.releaseAllForInstance(scope, instanceId, at);
            },
            allocate: async (scope, input) => {
              const ips = tables('fixedIp');
              const s = staleOf(ips);
              if (input.address !== undefined && s.has(`${input.networkId} ${input.address}`))
                throw new DuplicateError('fixedIp', ['networkId', 'address']);
              return inner.allocate(scope, input);
            },
          };
        },
      }),
    }),
  },
  mutant(
    'expected-first-field-only',
    'behaviour',
    'an update with expected values checks only the first named field',
    {
      driver: (inner) => ({
        ...bind(inner),
        update: (scope, id, change) => {
          const first = Object.entries(change.expected ?? {})[0];
          return inner.update(scope, id, {
            ...change,
            expected: first ? Object.fromEntries([first]) : change.expected,
          });
        },
      }),
    },
  ),
  mutant(
    'update-skips-unique-check',
    'behaviour',
    'update does not check unique constraints (only insert does): two live networks share a VLAN',
    {
      driver: (inner, resource, tables) => ({
        ...bind(inner),
        update: async (scope, id, change) => {
          const table = tables(resource.name);
          const current = table.get(id);
          if (!current || !inWriteScope(current, scope) || resource.unique.length === 0)
            return inner.update(scope, id, change);
          const held =
            (change.expectedRevision === undefined ||
              current.revision === change.expectedRevision) &&
            Object.entries(change.expected ?? {}).every(([f, allowed]) =>
              allowed.some((v) => sameValue(current[f], v)),
            );
          if (!held) return inner.update(scope, id, change);
          const next: StoredRecord = Object.freeze({
            ...current,
            ...structuredClone(change.set),
            revision: current.revision + 1,
            updatedAt: change.updatedAt,
            objectVersion: change.objectVersion,
          });
          table.set(id, next);
          return { status: 'ok', record: next };
        },
      }),
    },
  ),
  mutant(
    'no-op-update-keeps-revision',
    'behaviour',
    'an update that changes no value is skipped (affected rows 0): the revision does not rise',
    {
      driver: (inner, resource, tables) => ({
        ...bind(inner),
        update: async (scope, id, change) => {
          const current = tables(resource.name).get(id);
          const unchanged =
            current !== undefined &&
            inWriteScope(current, scope) &&
            (change.expectedRevision === undefined ||
              current.revision === change.expectedRevision) &&
            Object.entries(change.expected ?? {}).every(([f, allowed]) =>
              allowed.some((v) => sameValue(current[f], v)),
            ) &&
            Object.entries(change.set).every(
              ([f, v]) => JSON.stringify(current[f]) === JSON.stringify(v),
            );
          return unchanged ? { status: 'ok', record: current } : inner.update(scope, id, change);
        },
      }),
    },
  ),
  mutant(
    'id-reused-after-soft-delete',
    'behaviour',
    'the id is unique among live records only: a create with the id of a soft-deleted record replaces it',
    {
      driver: (inner, resource, tables) => ({
        ...bind(inner),
        insert: (record) => {
          const table = tables(resource.name);
          const old = table.get(record.id);
          if (old && old.deletedAt !== null) table.delete(record.id);
          return inner.insert(record);
        },
      }),
    },
  ),
  {
    name: 'minimum-version-counts-deleted',
    bug: 'minimumVersion also counts soft-deleted services (the query forgets `deleted_at IS NULL`)',
    caughtBy: 'behaviour',
    options: () => ({
      name: 'minimum-version-counts-deleted',
      faults: IN_PROCESS,
      open: mutantOpen({
        stores: (s: Stores) =>
          patchStore(s, 'services', async (method, call, args) => {
            if (method !== 'minimumVersion') return call(...args);
            await call(...args); // validates the arguments as the real one does
            const rows = (
              await s.services.list(adminContext({ readDeleted: 'yes' }), {
                where: { binary: args[1] as string },
                limit: 1000,
              })
            ).items;
            const live = rows.filter((r) => !r.disabled).map((r) => r.codeVersion);
            return live.length === 0 ? null : Math.min(...live);
          }),
      }),
    }),
  },
  mutant(
    'text-column-64k',
    'behaviour',
    'records over 64 KiB are refused (a TEXT column) although the manifest declares 16 MiB',
    {
      driver: (inner, resource) => {
        const check = (r: unknown) => {
          if (Buffer.byteLength(JSON.stringify(r), 'utf8') > 65_535)
            throw new InvalidInputError(resource.name, [
              { field: 'values', message: 'record too large' },
            ]);
        };
        return {
          ...bind(inner),
          insert: (record) => {
            check(record);
            return inner.insert(record);
          },
          update: (scope, id, change) => {
            check(change.set);
            return inner.update(scope, id, change);
          },
        };
      },
    },
  ),
]);
