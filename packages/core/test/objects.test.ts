import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepEqual, validateCreate } from '../src/adapter.js';
import {
  type AnyResource,
  computeResources,
  defineObject,
  defineResource,
  type Field,
  f,
  fromPrimitive,
  historyOf,
  IncompatibleVersionError,
  InvalidInputError,
  instanceResource,
  ObjectRegistry,
  type RecordOf,
  type VersionedObject,
  VM_STATES,
} from '../src/index.js';
import { validCreate } from './arbitraries.js';

const NOW = '2026-01-02T03:04:05.678Z';
let n = 0;

/** A stored record of `resource` at its version, as a store would return it. */
function recordOf<R extends AnyResource>(
  resource: R,
  values: Record<string, unknown>,
): RecordOf<R> {
  const valid = validateCreate(resource, values);
  n++;
  return Object.freeze({
    id: `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`,
    projectId: resource.scope === 'global' ? null : 'p1',
    ...valid.values,
    revision: 1,
    createdAt: NOW,
    updatedAt: NOW,
    deletedAt: null,
    objectVersion: resource.version,
  }) as unknown as RecordOf<R>;
}

const Instance = defineObject(instanceResource, {
  namespace: 'compute',
  methods: {
    isBusy(): boolean {
      return this.taskState !== null;
    },
  },
});

const vmRecord = () =>
  recordOf(instanceResource, {
    displayName: 'web',
    flavor: { vcpus: 1, memoryMb: 512, rootGb: 10 },
    metadata: { a: '1' },
  });

describe('object classes', () => {
  it('types fields from the schema and runs domain methods', () => {
    const vm = Instance.fromRecord(vmRecord());
    expect(vm.displayName).toBe('web');
    expect(vm.isBusy()).toBe(false);
    vm.taskState = 'spawning';
    expect(vm.isBusy()).toBe(true);
    expect(Instance.qualifiedName).toBe('compute.instance');
  });

  it('supports the class-based form', () => {
    class Server extends defineObject(instanceResource) {
      label(): string {
        return `${this.displayName}@${this.host ?? '-'}`;
      }
    }
    const s = Server.fromRecord(vmRecord());
    expect(s).toBeInstanceOf(Server);
    expect(s.label()).toBe('web@-');
  });

  it('keeps registries apart and refuses a name registered twice', () => {
    const a = new ObjectRegistry().register(Instance);
    const b = new ObjectRegistry();
    expect(a.names()).toEqual(['compute.instance']);
    expect(b.names()).toEqual([]);
    expect(() => a.register(Instance)).toThrow(/already registered/);
    expect(a.manifest()).toEqual({ 'compute.instance': '1.0' });
    expect(a.get('compute.instance', '1.0').elements.fieldNames).toContain('metadata');
    expect(() => a.get('compute.instance', '9.0')).toThrow(IncompatibleVersionError);
    expect(() => b.get('compute.instance')).toThrow(IncompatibleVersionError);
  });
});

describe('strict fields', () => {
  const vm = () => Instance.fromRecord(vmRecord());
  const cases: [string, (o: ReturnType<typeof vm>) => void, string][] = [
    [
      'a string to an int inside an object',
      (o) => ((o as { flavor: unknown }).flavor = { vcpus: '1', memoryMb: 1, rootGb: 1 }),
      'flavor.vcpus',
    ],
    ['5 to a string', (o) => ((o as { displayName: unknown }).displayName = 5), 'displayName'],
    ['"False" to an enum', (o) => ((o as { vmState: unknown }).vmState = 'False'), 'vmState'],
    [
      'an unknown field',
      (o) => ((o as unknown as Record<string, unknown>).colour = 'red'),
      'colour',
    ],
    ['a system field', (o) => ((o as unknown as Record<string, unknown>).revision = 9), 'revision'],
    [
      'a timestamp without offset',
      (o) => ((o as unknown as Record<string, unknown>).displayName = undefined),
      'displayName',
    ],
  ];
  for (const [what, assign, field] of cases) {
    it(`refuses ${what} at assignment, naming ${field}, and stays clean`, () => {
      const o = vm();
      let err: unknown;
      try {
        assign(o);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).fields).toContain(field);
      expect(o.isDirty()).toBe(false);
    });
  }

  it('refuses an immutable field', () => {
    const Network = defineObject(computeResources[1]);
    const net = Network.fromRecord(
      recordOf(computeResources[1], { label: 'lan', cidr: '10.0.0.0/24' }),
    );
    expect(() => {
      (net as unknown as Record<string, unknown>).cidr = '10.1.0.0/24';
    }).toThrow(/cidr: is immutable/);
  });
});

describe('change tracking', () => {
  it('sees in-place edits of nested dicts and objects; a no-op set stays clean', () => {
    const vm = Instance.fromRecord(vmRecord());
    vm.displayName = 'web';
    expect(vm.isDirty()).toBe(false);
    vm.metadata.b = '2';
    vm.flavor.vcpus = 4;
    expect(vm.changedFields()).toEqual(['flavor', 'metadata']);
    delete vm.metadata.b;
    vm.flavor.vcpus = 1;
    expect(vm.changedFields()).toEqual([]);
    vm.metadata.a = 'x';
    vm.reset();
    expect(vm.metadata).toEqual({ a: '1' });
    expect(vm.isDirty()).toBe(false);
  });

  it('equals a deep diff after any random sequence of nested edits', () => {
    type Edit =
      | { op: 'meta-set'; key: string; value: string }
      | { op: 'meta-del'; key: string }
      | { op: 'flavor'; key: 'vcpus' | 'memoryMb' | 'rootGb'; value: number }
      | { op: 'name'; value: string }
      | { op: 'replace-meta'; value: Record<string, string> };
    const key = fc.constantFrom('a', 'b', 'c');
    const edit: fc.Arbitrary<Edit> = fc.oneof(
      fc.record({ op: fc.constant('meta-set' as const), key, value: fc.constantFrom('1', '2') }),
      fc.record({ op: fc.constant('meta-del' as const), key }),
      fc.record({
        op: fc.constant('flavor' as const),
        key: fc.constantFrom('vcpus' as const, 'memoryMb' as const, 'rootGb' as const),
        value: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ op: fc.constant('name' as const), value: fc.constantFrom('web', 'db') }),
      fc.record({
        op: fc.constant('replace-meta' as const),
        value: fc.dictionary(key, fc.constantFrom('1', '2'), { maxKeys: 3 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 20 }), (edits) => {
        const record = vmRecord();
        const vm = Instance.fromRecord(record);
        // The model: a plain JSON copy edited the same way.
        const model = JSON.parse(JSON.stringify(record)) as Record<string, Record<string, unknown>>;
        for (const e of edits) {
          if (e.op === 'meta-set') {
            vm.metadata[e.key] = e.value;
            model.metadata![e.key] = e.value;
          } else if (e.op === 'meta-del') {
            delete vm.metadata[e.key];
            delete model.metadata![e.key];
          } else if (e.op === 'flavor') {
            vm.flavor[e.key] = e.value;
            model.flavor![e.key] = e.value;
          } else if (e.op === 'name') {
            vm.displayName = e.value;
            (model as Record<string, unknown>).displayName = e.value;
          } else {
            vm.metadata = e.value;
            model.metadata = { ...e.value };
          }
        }
        const expected = instanceResource.fieldNames.filter(
          (name) => !deepEqual(model[name], (record as unknown as Record<string, unknown>)[name]),
        );
        expect(vm.changedFields()).toEqual(expected);
      }),
    );
  });
});

/** Three versions of a gadget: 1.1 adds size (transform) and tags, 1.2 an enum value with a mapping. */
const gadget = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: false,
  version: '1.2',
  history: {
    '1.0': 'initial version',
    '1.1': { note: 'added size and tags', up: { size: (r) => String(r.label).length } },
    '1.2': {
      note: 'added state retired',
      enumValues: { state: { added: ['retired'], down: { retired: 'stopped' } } },
    },
  },
  fields: {
    label: f.string({ max: 20 }),
    state: f.enum(['active', 'stopped', 'retired']).default('active'),
    size: f.int().addedIn('1.1'),
    tags: f.dict(f.string()).default({}).addedIn('1.1'),
  },
});

describe('versioned wire form', () => {
  const Gadget = defineObject(gadget, { namespace: 'shop' });
  const registry = new ObjectRegistry().register(Gadget);
  const g = () =>
    Gadget.fromRecord(
      recordOf(gadget, { label: 'abc', state: 'retired', size: 7, tags: { z: '1', a: '2' } }),
    );

  it('is canonical JSON with a fixed key order', () => {
    const p = g().toPrimitive();
    expect(Object.keys(p)).toEqual(['name', 'version', 'namespace', 'data', 'changes']);
    expect(Object.keys(p.data)).toEqual([
      'id',
      'projectId',
      'revision',
      'createdAt',
      'updatedAt',
      'deletedAt',
      'objectVersion',
      'label',
      'state',
      'size',
      'tags',
    ]);
    expect(Object.keys(p.data.tags as object)).toEqual(['a', 'z']);
    expect(JSON.stringify(p)).toBe(JSON.stringify(registry.fromPrimitive(p).toPrimitive()));
  });

  it('generates backports from the history and upgrades on the way back', () => {
    const o = g();
    o.label = 'abcd';
    const p10 = o.toPrimitive('1.0');
    expect(p10.data).not.toHaveProperty('size');
    expect(p10.data.state).toBe('stopped');
    expect(p10.changes).toEqual(['label']);
    const back = registry.fromPrimitive(JSON.parse(JSON.stringify(p10))) as VersionedObject &
      Record<string, unknown>;
    expect(back.size).toBe(4); // the up-transform: the label's length
    expect(back.tags).toEqual({});
    expect(back.changedFields()).toEqual(['label']);
    expect(o.toPrimitive(registry.manifest()).version).toBe('1.2');
    expect(o.toPrimitive({ 'shop.gadget': '1.1' }).data.size).toBe(7);
  });

  it('refuses a newer target, another major, an unregistered name and bad primitives', () => {
    const o = g();
    expect(() => o.toPrimitive('1.3')).toThrow(IncompatibleVersionError);
    expect(() => o.toPrimitive('2.0')).toThrow(/2\.0.*1\.2/);
    expect(() => o.toPrimitive({})).toThrow(IncompatibleVersionError);
    const p = o.toPrimitive();
    expect(() => registry.fromPrimitive({ ...p, version: '2.0' })).toThrow(
      IncompatibleVersionError,
    );
    expect(() => registry.fromPrimitive({ ...p, namespace: 'other' })).toThrow(
      /other\.gadget.*not registered/,
    );
    expect(() => new ObjectRegistry().fromPrimitive(p)).toThrow(IncompatibleVersionError);
    expect(() => registry.fromPrimitive({ ...p, data: { ...p.data, size: '7' } })).toThrow(
      InvalidInputError,
    );
    expect(() => registry.fromPrimitive({ ...p, extra: 1 })).toThrow(InvalidInputError);
  });

  it('reads a newer minor from a peer: unknown fields dropped, unknown enum values refused', () => {
    const Old = defineObject(
      defineResource({
        ...gadget,
        version: '1.1',
        history: { '1.0': 'a', '1.1': gadget.history['1.1']! },
        fields: { ...gadget.fields, state: f.enum(['active', 'stopped']).default('active') },
      }),
      { namespace: 'shop' },
    );
    const oldSide = new ObjectRegistry().register(Old);
    const fine = g();
    fine.state = 'active';
    const got = oldSide.fromPrimitive(fine.toPrimitive()) as VersionedObject &
      Record<string, unknown>;
    expect(got.state).toBe('active');
    expect(() => oldSide.fromPrimitive(g().toPrimitive())).toThrow(IncompatibleVersionError);
    // The newer side backports with the manifest the older side sent: no refusal.
    expect(oldSide.fromPrimitive(g().toPrimitive(oldSide.manifest())).toRecord()).toMatchObject({
      state: 'stopped',
    });
  });
});

describe('property: wire form over every built-in resource and random histories', () => {
  for (const resource of computeResources) {
    it(`${resource.name}: fromPrimitive(toPrimitive(o)) keeps every field`, () => {
      const Cls = defineObject(resource, { namespace: 'prop' });
      const registry = new ObjectRegistry().register(Cls);
      fc.assert(
        fc.property(validCreate(resource), (values) => {
          const o = Cls.fromRecord(recordOf(resource, values));
          for (const v of historyOf(resource).versions) {
            const p = JSON.parse(JSON.stringify(o.toPrimitive(v.version)));
            const back = registry.fromPrimitive(p);
            expect(back.toRecord()).toEqual(o.toRecord());
            expect(JSON.stringify(back.toPrimitive(v.version))).toBe(JSON.stringify(p));
          }
        }),
        { numRuns: 30 },
      );
    });
  }

  /**
   * A random history: each version adds fields (with defaults, or an up-transform from
   * the record), enum values (some mapped down, some not), and may change the meaning of
   * `m` (negated: an inverse pair of hand-written transforms) or index a field.
   */
  const historyArb = fc
    .array(
      fc.record({
        ints: fc.integer({ min: 0, max: 2 }),
        derived: fc.boolean(),
        newValue: fc.boolean(),
        mapped: fc.boolean(),
        negate: fc.boolean(),
        index: fc.boolean(),
      }),
      { minLength: 1, maxLength: 4 },
    )
    .map((steps) => {
      const versions = ['1.0', ...steps.map((_, i) => `1.${i + 1}`)];
      const values = ['v0', 'v1'];
      const history: Record<string, string | Record<string, unknown>> = { '1.0': 'initial' };
      const fields: Record<string, Field> = {};
      let indexed = false;
      steps.forEach((s, i) => {
        const v = versions[i + 1]!;
        const entry: Record<string, unknown> = { note: `step ${v}` };
        for (let k = 0; k < s.ints; k++) {
          fields[`n${i}x${k}`] = f.int().default(k).addedIn(v);
        }
        if (s.derived) {
          fields[`d${i}`] = f.int().addedIn(v);
          entry.up = { [`d${i}`]: (r: Readonly<Record<string, unknown>>) => String(r.e).length };
        }
        if (s.newValue) {
          const value = `v${values.length}`;
          values.push(value);
          entry.enumValues = {
            e: { added: [value], ...(s.mapped ? { down: { [value]: 'v0' } } : {}) },
          };
        }
        if (s.negate) {
          // 0 - m, not -m: no -0, which JSON cannot carry.
          const neg = (r: Readonly<Record<string, unknown>>) => 0 - (r.m as number);
          entry.changed = { m: { up: neg, down: neg } };
        }
        if (s.index && !indexed) {
          indexed = true;
          entry.addIndexes = ['m'];
        }
        history[v] = entry;
      });
      const m = f.int({ min: -1_000_000, max: 1_000_000 });
      return defineResource({
        name: 'rand',
        plural: 'rands',
        scope: 'project',
        softDelete: false,
        version: versions.at(-1)!,
        history: history as never,
        fields: {
          e: f.enum(values as [string, ...string[]]),
          m: indexed ? m.indexed() : m,
          ...fields,
        },
      });
    });

  it('random histories: backport then upgrade is the identity on the fields both versions have', () => {
    fc.assert(
      fc.property(
        historyArb.chain((r) => fc.tuple(fc.constant(r), validCreate(r))),
        ([resource, values]) => {
          const Cls = defineObject(resource, { namespace: 'prop' });
          const registry = new ObjectRegistry().register(Cls);
          const o = Cls.fromRecord(recordOf(resource, values));
          const h = historyOf(resource);
          for (const v of h.versions) {
            let p: ReturnType<typeof o.toPrimitive>;
            try {
              p = o.toPrimitive(v.version);
            } catch (err) {
              // Only an enum value the target does not know and the history maps nowhere.
              expect(err).toBeInstanceOf(IncompatibleVersionError);
              expect(v.fields.e!.values).not.toContain(values.e);
              continue;
            }
            const back = registry.fromPrimitive(JSON.parse(JSON.stringify(p))).toRecord() as Record<
              string,
              unknown
            >;
            const mine = o.toRecord() as unknown as Record<string, unknown>;
            for (const name of v.fieldNames) {
              if (name === 'e' && !v.fields.e!.values!.includes(values.e as string)) {
                expect(back.e).toBe('v0'); // mapped down by the history's rule
              } else {
                expect(back[name]).toEqual(mine[name]);
              }
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('two services on different releases exchange an instance (the README example)', () => {
  it('backports for the older side from its manifest and upgrades what comes back', () => {
    // Release N+1 of the conductor: instance 1.1 adds `locked` and the vm state `shelved`.
    const instanceV11 = defineResource({
      ...instanceResource,
      version: '1.1',
      history: {
        ...instanceResource.history,
        '1.1': {
          note: 'added locked; vm state shelved (older releases see stopped)',
          enumValues: { vmState: { added: ['shelved'], down: { shelved: 'stopped' } } },
        },
      },
      fields: {
        ...instanceResource.fields,
        vmState: f
          .enum([...VM_STATES, 'shelved'])
          .indexed()
          .default('building'),
        locked: f.bool().default(false).addedIn('1.1'),
      },
    });
    const conductor = new ObjectRegistry().register(
      defineObject(instanceV11, { namespace: 'compute' }),
    );
    const compute = new ObjectRegistry().register(
      defineObject(instanceResource, { namespace: 'compute' }),
    );

    const NewInstance = conductor.classOf('compute.instance')!;
    const vm = NewInstance.fromRecord(
      recordOf(instanceV11, {
        displayName: 'web-1',
        vmState: 'shelved',
        locked: true,
        flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 },
      }) as never,
    ) as VersionedObject;

    // The compute service (release N) says what it speaks; the manifest is plain JSON.
    const manifest = JSON.parse(JSON.stringify(compute.manifest()));
    expect(manifest).toEqual({ 'compute.instance': '1.0' });
    const wire = JSON.stringify(vm.toPrimitive(manifest));
    const mine = fromPrimitive(JSON.parse(wire), compute) as VersionedObject &
      Record<string, unknown>;
    // objectVersion stays the version the record is stored at; the store never lowers it.
    expect(mine.toRecord()).toMatchObject({ vmState: 'stopped', objectVersion: '1.1' });
    expect(mine.toRecord()).not.toHaveProperty('locked');
    mine.taskState = 'powering-on';

    // Back at the conductor: upgraded to 1.1, only the task state marked changed.
    const back = fromPrimitive(JSON.parse(JSON.stringify(mine.toPrimitive())), conductor);
    expect(back.changedFields()).toEqual(['taskState']);
    expect(back.toRecord()).toMatchObject({ taskState: 'powering-on', locked: false });
  });
});

describe('JSON of an object', () => {
  it('is its record', () => {
    const vm = Instance.fromRecord(vmRecord());
    vm.metadata.b = '2';
    expect(JSON.parse(JSON.stringify(vm))).toEqual(JSON.parse(JSON.stringify(vm.toRecord())));
    expect(JSON.parse(JSON.stringify(vm)).metadata).toEqual({ a: '1', b: '2' });
  });
});
