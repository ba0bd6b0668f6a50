import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConflictError,
  DuplicateError,
  ExhaustedError,
  errorClasses,
  FencedError,
  ForbiddenError,
  IncompatibleVersionError,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  NotSupportedError,
  PolystoreError,
  SchemaBehindError,
  UnavailableError,
  UniqueViolationError,
  WriteBelowPinError,
} from '../src/index.js';

describe('typed errors', () => {
  const cases: [PolystoreError, string, boolean][] = [
    [new NotFoundError('instance', 'x'), 'NOT_FOUND', false],
    [new DuplicateError('network', ['vlan']), 'DUPLICATE', false],
    [new UniqueViolationError('network', ['vlan'], ['a', 'b']), 'DUPLICATE', false],
    [new ConflictError('instance', 'x', 3, 'revision'), 'CONFLICT', false],
    [
      new InvalidInputError('instance', [{ field: 'host', message: 'must be a string' }]),
      'INVALID_INPUT',
      false,
    ],
    [new InvalidQueryError('where.metadata: not indexed'), 'INVALID_QUERY', false],
    [new ForbiddenError('purge needs an admin context'), 'FORBIDDEN', false],
    [new ExhaustedError('network n is full'), 'EXHAUSTED', false],
    [new UnavailableError('connection refused'), 'UNAVAILABLE', true],
    [new FencedError('compute-api@h1:42', 5200), 'UNAVAILABLE', true],
    [new WriteBelowPinError('widget', '1.1', '1.0'), 'UNAVAILABLE', true],
    [new NotSupportedError('ttl'), 'NOT_SUPPORTED', false],
    [new IncompatibleVersionError('instance', '1.3', '1.2'), 'INCOMPATIBLE_VERSION', false],
    [new ConfigError('bad url'), 'CONFIG', false],
    [new SchemaBehindError('gadget', ['field color', 'index color (equality)']), 'CONFIG', false],
  ];

  it.each(cases)('%s has its code, name and retriability', (err, code, retriable) => {
    expect(err).toBeInstanceOf(PolystoreError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(code);
    expect(err.name).toBe(err.constructor.name);
    expect(err.retriable).toBe(retriable);
    expect(err.message.length).toBeGreaterThan(0);
  });

  it('names the missing elements and the command that adds them', () => {
    const err = new SchemaBehindError('gadget', ['field color', 'unique (label)']);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.missing).toEqual(['field color', 'unique (label)']);
    expect(err.message).toMatch(
      /^gadget: the store lacks 2 elements .*field color, unique \(label\).*polystore schema expand/,
    );
  });

  it('lists every class once', () => {
    expect(
      Object.values(errorClasses)
        .map((c) => c.name)
        .sort(),
    ).toEqual(cases.map(([e]) => e.constructor.name).sort());
  });

  it('carry the details callers act on', () => {
    const conflict = new ConflictError('instance', 'x', 7, 'expected', 'taskState');
    expect(conflict).toMatchObject({ currentRevision: 7, reason: 'expected', field: 'taskState' });
    expect(conflict.message).toContain('taskState');
    const invalid = new InvalidInputError('instance', [
      { field: 'host', message: 'must be a string' },
      { field: 'flavor.vcpus', message: 'must be at least 1' },
    ]);
    expect(invalid.fields).toEqual(['host', 'flavor.vcpus']);
    expect(invalid.message).toContain('flavor.vcpus: must be at least 1');
    expect(new DuplicateError('fixedIp', ['networkId', 'address']).message).toContain(
      'networkId, address',
    );
    expect(new NotSupportedError('ttl').capability).toBe('ttl');
    expect(new IncompatibleVersionError('instance', '1.3', '1.2')).toMatchObject({
      storedVersion: '1.3',
      knownVersion: '1.2',
    });
    const cause = new Error('ECONNREFUSED');
    expect(new UnavailableError('down', { cause }).cause).toBe(cause);
  });
});
