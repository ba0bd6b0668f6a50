/**
 * The random commands the evolution group runs through clients of one namespace, each
 * client holding one definition of the evolving resource. Values come from small pools,
 * so that equality queries hit and unique values clash.
 */
import type { AnyResource, Field } from '@polystore/core';
import type { Rng } from './evolution-chain.js';

/** The contexts the commands run under. */
export const EVOLUTION_CONTEXTS = ['p1', 'p2', 'admin', 'p1/yes', 'admin/yes'] as const;

/** One of {@link EVOLUTION_CONTEXTS}. */
export type EvolutionContext = (typeof EVOLUTION_CONTEXTS)[number];

/** A command of one client (by its index in the phase's clients). */
export type EvolutionCommand =
  | {
      readonly op: 'create';
      readonly client: number;
      readonly ctx: EvolutionContext;
      readonly values: Record<string, unknown>;
    }
  | {
      readonly op: 'update';
      readonly client: number;
      readonly ctx: EvolutionContext;
      readonly target: number;
      readonly patch: Record<string, unknown>;
      /** `current`: the revision the model holds; `stale`: one before it. */
      readonly revision: 'none' | 'current' | 'stale';
    }
  | {
      readonly op: 'delete';
      readonly client: number;
      readonly ctx: EvolutionContext;
      readonly target: number;
    }
  | {
      readonly op: 'get';
      readonly client: number;
      readonly ctx: EvolutionContext;
      readonly target: number;
    }
  | {
      readonly op: 'getMany';
      readonly client: number;
      readonly ctx: EvolutionContext;
      readonly targets: readonly number[];
    }
  | {
      readonly op: 'list';
      readonly client: number;
      readonly ctx: EvolutionContext;
      readonly where: Record<string, unknown> | undefined;
      readonly orderBy: { readonly field: string; readonly direction: 'asc' | 'desc' } | undefined;
      readonly limit: number;
    }
  | {
      readonly op: 'count';
      readonly client: number;
      readonly ctx: EvolutionContext;
      readonly where: Record<string, unknown> | undefined;
    };

/** A value of one of the evolving resource's fields, from its pool. */
export function valueFor(rng: Rng, name: string, field: Field): unknown {
  if (field.isNullable && rng.chance(0.25)) return null;
  switch (name) {
    case 'label':
      return rng.pick(['ant', 'bee', 'Bee', 'cat', 'été', 'ant b', '𝄞x']);
    case 'tag':
      return rng.pick(['t1', 't2', 't3', 't4', 't5', 't6']);
    case 'size':
      return rng.int(25);
    case 'kind':
      return rng.pick(field.values ?? ['a']);
    case 'note':
      return rng.pick(['n1', 'n2']);
    case 'hint':
      return rng.pick(['h1', 'h2', 'h3']);
    case 'color':
      return rng.pick(['red', 'blue']);
    case 'code':
      return rng.pick(['c1', 'c2']);
    case 'weight':
      return rng.int(12);
    case 'score':
      return rng.int(80);
    case 'rank':
      return rng.int(4);
    default:
      return null;
  }
}

function createValues(rng: Rng, def: AnyResource, ctx: EvolutionContext): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of def.fieldNames) {
    const field = def.fields[name]!;
    const optional = field.isNullable || field.defaultValue !== undefined;
    if (optional && rng.chance(0.3)) continue;
    values[name] = valueFor(rng, name, field);
  }
  if (ctx.startsWith('admin')) values.projectId = rng.pick(['p1', 'p2']);
  // Now and then a field only another definition knows: refused with InvalidInputError.
  if (rng.chance(0.06)) values[rng.pick(['color', 'rank', 'note', 'score'])] = 1;
  return values;
}

function patchOf(rng: Rng, def: AnyResource): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  const n = 1 + rng.int(2);
  for (let i = 0; i < n; i++) {
    const name = rng.pick(def.fieldNames);
    patch[name] = valueFor(rng, name, def.fields[name]!);
  }
  return patch;
}

/** A `where` over one of `fields` (indexed fields of `def` the phase may query), or none. */
function whereOf(
  rng: Rng,
  def: AnyResource,
  fields: readonly string[],
): Record<string, unknown> | undefined {
  if (fields.length === 0 || rng.chance(0.25)) return undefined;
  const name = rng.pick(fields);
  const q = def.queryable[name];
  if (!q) return undefined;
  const field = q.field;
  const r = rng.int(q.index === 'sort' ? 4 : 3);
  if (r === 0 && field.isNullable) return { [name]: null };
  if (r === 1)
    return {
      [name]: {
        in: [valueFor(rng, name, field), valueFor(rng, name, field)].filter((v) => v !== null),
      },
    };
  if (r === 3)
    return {
      [name]: {
        [rng.pick(['gt', 'gte', 'lt', 'lte'])]: valueFor(rng, name, {
          ...field,
          isNullable: false,
        } as Field),
      },
    };
  const v = valueFor(rng, name, field);
  return { [name]: v };
}

/**
 * One random command of one of `defs`' clients. `queryable[i]` are the fields client `i`
 * may filter and order on in this phase (indexes every record is entered in);
 * `known` is how many records the phase can name by index.
 */
export function randomCommand(
  rng: Rng,
  defs: readonly AnyResource[],
  queryable: readonly (readonly string[])[],
  known: number,
): EvolutionCommand {
  const client = rng.int(defs.length);
  const def = defs[client]!;
  const ctx = rng.pick(EVOLUTION_CONTEXTS);
  const roll = rng.int(12);
  const target = rng.int(1 << 16);
  if (known === 0 || roll < 3)
    return { op: 'create', client, ctx, values: createValues(rng, def, ctx) };
  if (roll < 6)
    return {
      op: 'update',
      client,
      ctx,
      target,
      patch: patchOf(rng, def),
      revision: rng.pick(['none', 'none', 'current', 'stale'] as const),
    };
  if (roll < 7) return { op: 'delete', client, ctx, target };
  if (roll < 8) return { op: 'get', client, ctx, target };
  if (roll < 9)
    return { op: 'getMany', client, ctx, targets: [target, rng.int(1 << 16), rng.int(1 << 16)] };
  if (roll < 11) return listCommand(rng, client, def, ctx, queryable[client] ?? []);
  return { op: 'count', client, ctx, where: whereOf(rng, def, queryable[client] ?? []) };
}

/** A paged listing of one client, with a filter and an order from its queryable fields. */
export function listCommand(
  rng: Rng,
  client: number,
  def: AnyResource,
  ctx: EvolutionContext,
  queryable: readonly string[],
): EvolutionCommand {
  const sortable = queryable.filter((n) => def.queryable[n]?.index === 'sort');
  const orderBy =
    sortable.length > 0 && rng.chance(0.7)
      ? { field: rng.pick(sortable), direction: rng.pick(['asc', 'desc'] as const) }
      : undefined;
  return {
    op: 'list',
    client,
    ctx,
    where: whereOf(rng, def, queryable),
    orderBy,
    limit: 1 + rng.int(4),
  };
}
