/**
 * Field declarations: data, not code. Every layer (validation, SQL columns, Redis
 * index keys, Mongo indexes, conformance generators) reads these descriptors.
 */

/** The kinds of field a resource may declare. */
export type FieldKind =
  | 'uuid'
  | 'string'
  | 'int'
  | 'bool'
  | 'enum'
  | 'datetime'
  | 'ip'
  | 'cidr'
  | 'list'
  | 'dict'
  | 'object';

/** How a field may be queried: not at all, by equality (`eq`, `in`, `null`), or also by range and order (`sort`). */
export type IndexKind = 'none' | 'eq' | 'sort';

/** The descriptor of one field. `T` is the TypeScript type of its value. */
export interface Field<T = unknown, D extends boolean = boolean> {
  readonly kind: FieldKind;
  /** `null` is an allowed value. */
  readonly isNullable: boolean;
  /** The value used when a create leaves the field out (`undefined`: required, unless nullable). */
  readonly defaultValue: T | undefined;
  /** How the field may be used in `where` and `orderBy`. */
  readonly index: IndexKind;
  /** The object version that added the field. */
  readonly since: string;
  /** Set on create, refused in an update patch. */
  readonly isImmutable: boolean;
  /** One line saying what the field holds. */
  readonly description: string | undefined;
  /** string: maximum length in code points. list/dict: maximum number of entries. */
  readonly max: number | undefined;
  /** int: minimum value. */
  readonly min: number | undefined;
  /** string: a pattern the whole value must match. */
  readonly pattern: RegExp | undefined;
  /** enum: the allowed values, in declaration order. */
  readonly values: readonly string[] | undefined;
  /** list/dict: the element field. */
  readonly of: Field | undefined;
  /** object: the nested fields. */
  readonly shape: Readonly<Record<string, Field>> | undefined;
  /** Phantom: carries `T` for type inference; never set at run time. */
  readonly __type?: T;
  /** Phantom: whether the field may be left out of a create. */
  readonly __optional?: D;

  /** The same field, also allowing `null` (default `null`). */
  nullable(): Field<T | null, true>;
  /** The same field with a default for creates that leave it out. */
  default(value: T): Field<T, true>;
  /** Filterable by equality, `in` and `null`. */
  indexed(): Field<T, D>;
  /** Filterable by equality and range, and usable in `orderBy`. Needs a non-nullable ordered field. */
  sortable(): Field<T, D>;
  /** Records the object version that added the field. */
  addedIn(version: string): Field<T, D>;
  /** Set on create only; an update patch naming it is refused. */
  immutable(): Field<T, D>;
  /** Attaches a one-line description. */
  describe(text: string): Field<T, D>;
}

/** The value type of a field descriptor. */
export type FieldValue<F> = F extends Field<infer T, boolean> ? T : never;

type Props = Omit<
  Field,
  | 'nullable'
  | 'default'
  | 'indexed'
  | 'sortable'
  | 'addedIn'
  | 'immutable'
  | 'describe'
  | '__type'
  | '__optional'
>;

const ORDERED: readonly FieldKind[] = ['uuid', 'string', 'int', 'datetime'];
const SCALAR: readonly FieldKind[] = [
  'uuid',
  'string',
  'int',
  'bool',
  'enum',
  'datetime',
  'ip',
  'cidr',
];

/** Whether values of this kind have a total order usable for sorting and ranges. */
export function isOrderedKind(kind: FieldKind): boolean {
  return ORDERED.includes(kind);
}

/** Whether values of this kind are scalars (usable in `where` and `expected`). */
export function isScalarKind(kind: FieldKind): boolean {
  return SCALAR.includes(kind);
}

function make<T, D extends boolean = false>(props: Props): Field<T, D> {
  const field: Field<T, D> = {
    ...(props as Omit<Props, 'defaultValue'>),
    defaultValue: props.defaultValue as T | undefined,
    nullable() {
      if (props.index === 'sort') throw new TypeError('a sortable field cannot be nullable');
      return make<T | null, true>({
        ...props,
        isNullable: true,
        defaultValue: props.defaultValue === undefined ? null : props.defaultValue,
      });
    },
    default(value: T) {
      return make<T, true>({ ...props, defaultValue: value });
    },
    indexed() {
      if (!isScalarKind(props.kind)) throw new TypeError(`a ${props.kind} field cannot be indexed`);
      return make<T, D>({ ...props, index: 'eq' });
    },
    sortable() {
      if (!isOrderedKind(props.kind)) throw new TypeError(`a ${props.kind} field cannot be sorted`);
      if (props.isNullable) throw new TypeError('a sortable field cannot be nullable');
      return make<T, D>({ ...props, index: 'sort' });
    },
    addedIn(version: string) {
      return make<T, D>({ ...props, since: version });
    },
    immutable() {
      return make<T, D>({ ...props, isImmutable: true });
    },
    describe(text: string) {
      return make<T, D>({ ...props, description: text });
    },
  };
  return Object.freeze(field);
}

function base(kind: FieldKind, extra: Partial<Props> = {}): Props {
  return {
    kind,
    isNullable: false,
    defaultValue: undefined,
    index: 'none',
    since: '1.0',
    isImmutable: false,
    description: undefined,
    max: undefined,
    min: undefined,
    pattern: undefined,
    values: undefined,
    of: undefined,
    shape: undefined,
    ...extra,
  };
}

/** Maximum length of a string field without an explicit `max`. */
export const DEFAULT_STRING_MAX = 255;

/**
 * The field builders.
 *
 * @example
 * ```ts
 * const fields = {
 *   hostname: f.string({ max: 63, pattern: /^[a-z0-9-]*$/ }).indexed(),
 *   vcpus: f.int({ min: 1, max: 1024 }),
 *   state: f.enum(['active', 'stopped']).indexed(),
 *   metadata: f.dict(f.string()).default({}),
 * };
 * ```
 */
export const f = {
  /** A lowercase canonical UUID string. */
  uuid: (): Field<string, false> => make(base('uuid')),
  /** A Unicode string without NUL, at most `max` code points (default 255). */
  string: (opts: { max?: number; pattern?: RegExp } = {}): Field<string, false> =>
    make(base('string', { max: opts.max ?? DEFAULT_STRING_MAX, pattern: opts.pattern })),
  /** A safe integer, optionally within `[min, max]`. */
  int: (opts: { min?: number; max?: number } = {}): Field<number, false> =>
    make(base('int', { min: opts.min, max: opts.max })),
  /** `true` or `false`. */
  bool: (): Field<boolean, false> => make(base('bool')),
  /** One of a fixed set of strings. */
  enum: <const V extends readonly [string, ...string[]]>(values: V): Field<V[number], false> =>
    make(base('enum', { values })),
  /** A UTC instant with millisecond precision, as an ISO 8601 string (`2026-01-02T03:04:05.678Z`). */
  datetime: (): Field<string, false> => make(base('datetime')),
  /** An IPv4 or IPv6 address in canonical text form. */
  ip: (): Field<string, false> => make(base('ip')),
  /** An IPv4 or IPv6 network in canonical `address/prefix` form, host bits zero. */
  cidr: (): Field<string, false> => make(base('cidr')),
  /** A list of values of one field type, at most `max` entries (default 1000). */
  list: <T>(of: Field<T, boolean>, opts: { max?: number } = {}): Field<T[], false> =>
    make(base('list', { of: of as Field, max: opts.max ?? 1000 })),
  /** A map from string keys to values of one field type, at most `max` entries (default 1000). */
  dict: <T>(of: Field<T, boolean>, opts: { max?: number } = {}): Field<Record<string, T>, false> =>
    make(base('dict', { of: of as Field, max: opts.max ?? 1000 })),
  /** A nested object with its own fields. */
  object: <S extends Record<string, Field>>(shape: S): Field<ObjectValue<S>, false> =>
    make(base('object', { shape })),
};

/** The value type of a nested object field: every key present. */
export type ObjectValue<S extends Record<string, Field>> = {
  -readonly [K in keyof S]: FieldValue<S[K]>;
};

type OptionalKeys<S extends Record<string, Field>> = {
  [K in keyof S]: S[K] extends Field<unknown, true> ? K : never;
}[keyof S];

/** The input type for a shape: fields with a default (or nullable) may be left out. */
export type InputOf<S extends Record<string, Field>> = {
  -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: FieldValue<S[K]>;
} & {
  -readonly [K in OptionalKeys<S>]?: FieldValue<S[K]>;
};
