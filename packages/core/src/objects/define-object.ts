import type { RequestContext } from '../context.js';
import { InvalidInputError } from '../errors.js';
import {
  type AnyResource,
  type CreateOf,
  type RecordOf,
  SYSTEM_FIELDS,
} from '../schema/resource.js';
import type { ListOptions, Page } from '../store.js';
import {
  assignField,
  type ObjectOf,
  STATE,
  type StoreSource,
  storeOf,
  VersionedObject,
} from './versioned-object.js';

/** Options of {@link defineObject}. */
export interface DefineObjectOptions<R extends AnyResource, M> {
  /** The registry namespace of the class (default `polystore`); wire forms carry it. */
  readonly namespace?: string;
  /** Domain methods, with `this` the object. */
  readonly methods?: M & ThisType<ObjectOf<R, M>>;
}

/** A class of objects over resource `R`, made by {@link defineObject}. */
export interface ObjectClass<R extends AnyResource, M = unknown> {
  /** @internal Objects are made by the statics below or `fromPrimitive`. */
  new (record: RecordOf<R>): ObjectOf<R, M>;
  /** The resource the objects are stored as. */
  readonly resource: R;
  /** The registry namespace. */
  readonly namespace: string;
  /** `namespace.name`. */
  readonly qualifiedName: string;
  /** The object version the class speaks (its resource's version). */
  readonly version: string;
  /** The domain method names, sorted. */
  readonly methodNames: readonly string[];
  /** The object of a record already read. */
  fromRecord<T>(this: new (record: RecordOf<R>) => T, record: RecordOf<R>): T;
  /** Reads one object. `NotFoundError` when it does not exist or is not visible. */
  get<T>(
    this: new (
      record: RecordOf<R>,
    ) => T,
    ctx: RequestContext,
    source: StoreSource<R>,
    id: string,
  ): Promise<T>;
  /** One page of objects, as the store's `list`. */
  list<T>(
    this: new (
      record: RecordOf<R>,
    ) => T,
    ctx: RequestContext,
    source: StoreSource<R>,
    options?: ListOptions<RecordOf<R>>,
  ): Promise<Page<T>>;
  /** Creates the record and returns its object. */
  create<T>(
    this: new (
      record: RecordOf<R>,
    ) => T,
    ctx: RequestContext,
    source: StoreSource<R>,
    values: CreateOf<R>,
  ): Promise<T>;
}

/** Any object class. */
export type AnyObjectClass = ObjectClass<AnyResource, unknown>;

const NAMESPACE = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;
const RESERVED = new Set<string>([
  ...Object.getOwnPropertyNames(VersionedObject.prototype),
  ...SYSTEM_FIELDS,
  'then',
]);

/**
 * Makes the object class of a resource: a property per field (typed from the schema,
 * strict on assignment), the system fields read-only, the domain methods given, and
 * statics `get/list/create/fromRecord` that take the context and the Stores bag (or
 * the resource's store) explicitly. Register it in an {@link ObjectRegistry} to send
 * it over the wire.
 *
 * @example
 * ```ts
 * const Instance = defineObject(instanceResource, {
 *   namespace: 'compute',
 *   methods: {
 *     isBusy() { return this.taskState !== null; },
 *   },
 * });
 * const vm = await Instance.get(ctx, stores, id);
 * vm.metadata.owner = 'ops'; // an in-place edit is a change too
 * await vm.save(ctx, stores); // ConflictError if someone saved first
 *
 * // the class-based form: extend the class
 * class Server extends defineObject(instanceResource) {
 *   isBusy() { return this.taskState !== null; }
 * }
 * ```
 */
export function defineObject<R extends AnyResource, M extends object = Record<never, never>>(
  resource: R,
  options: DefineObjectOptions<R, M> = {},
): ObjectClass<R, M> {
  const namespace = options.namespace ?? 'polystore';
  if (!NAMESPACE.test(namespace))
    throw new TypeError(`bad object namespace ${JSON.stringify(namespace)}`);
  const methods = (options.methods ?? {}) as Record<string, unknown>;
  for (const name of [...resource.fieldNames, ...Object.keys(methods)]) {
    if (RESERVED.has(name))
      throw new TypeError(`${resource.name}: ${name} is a name objects reserve`);
  }
  for (const name of Object.keys(methods)) {
    if (Object.hasOwn(resource.fields, name))
      throw new TypeError(`${resource.name}: method ${name} has the name of a field`);
    if (typeof methods[name] !== 'function')
      throw new TypeError(`${resource.name}: method ${name} is not a function`);
  }

  const refuse = (field: string, message: string): never => {
    throw new InvalidInputError(resource.name, [{ field, message }]);
  };
  // Every assignment goes through the proxy: an unknown name is refused at once instead of
  // becoming a silent own property (the object model's answer to typos).
  const handler: ProxyHandler<VersionedObject<R>> = {
    set(target, prop, value) {
      if (typeof prop === 'string' && !(prop in target)) refuse(prop, 'unknown field');
      return Reflect.set(target, prop, value, target);
    },
    defineProperty(_target, prop) {
      return refuse(String(prop), 'unknown field');
    },
    deleteProperty(_target, prop) {
      return refuse(String(prop), 'fields cannot be deleted');
    },
  };

  class DefinedObject extends VersionedObject<R> {
    static readonly resource = resource;
    static readonly namespace = namespace;
    static readonly qualifiedName = `${namespace}.${resource.name}`;
    static readonly version = resource.version;
    static readonly methodNames = Object.freeze(Object.keys(methods).sort());

    constructor(record: RecordOf<R>) {
      super(resource, namespace, record);
      // biome-ignore lint/correctness/noConstructorReturn: the proxy is what makes assignments strict
      return new Proxy(this, handler);
    }

    static fromRecord<T>(this: new (record: RecordOf<R>) => T, record: RecordOf<R>): T {
      return new this(record);
    }

    static async get<T>(
      this: new (
        record: RecordOf<R>,
      ) => T,
      ctx: RequestContext,
      source: StoreSource<R>,
      id: string,
    ): Promise<T> {
      return new this(await storeOf(source, resource).get(ctx, id));
    }

    static async list<T>(
      this: new (
        record: RecordOf<R>,
      ) => T,
      ctx: RequestContext,
      source: StoreSource<R>,
      options?: ListOptions<RecordOf<R>>,
    ): Promise<Page<T>> {
      const page = await storeOf(source, resource).list(ctx, options);
      return Object.freeze({
        items: Object.freeze(page.items.map((r) => new this(r))),
        next: page.next,
      });
    }

    static async create<T>(
      this: new (
        record: RecordOf<R>,
      ) => T,
      ctx: RequestContext,
      source: StoreSource<R>,
      values: CreateOf<R>,
    ): Promise<T> {
      return new this(await storeOf(source, resource).create(ctx, values));
    }
  }

  const proto = DefinedObject.prototype as unknown as Record<string, unknown>;
  for (const name of resource.fieldNames) {
    Object.defineProperty(proto, name, {
      get(this: VersionedObject<R>) {
        return this[STATE].values[name];
      },
      set(this: VersionedObject<R>, value: unknown) {
        assignField(this, name, value);
      },
    });
  }
  for (const name of SYSTEM_FIELDS) {
    Object.defineProperty(proto, name, {
      get(this: VersionedObject<R>) {
        return this[STATE].base[name];
      },
      set() {
        refuse(name, 'is a system field: read-only');
      },
    });
  }
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(proto, name, { value: fn, writable: false });
  }
  Object.defineProperty(DefinedObject, 'name', { value: `${resource.name}Object` });
  return DefinedObject as unknown as ObjectClass<R, M>;
}
