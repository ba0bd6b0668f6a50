import {
  ConflictError,
  DuplicateError,
  ExhaustedError,
  ForbiddenError,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  UnavailableError,
} from '@polystore/core';
import { describe, expect, it } from 'vitest';
import { toProblem } from '../src/index.js';

describe('toProblem', () => {
  it.each([
    [new InvalidInputError('instance', [{ field: 'flavor.vcpus', message: 'too small' }]), 400],
    [new InvalidQueryError('instance: where.host: bad'), 400],
    [new ForbiddenError('no'), 403],
    [new NotFoundError('instance', 'x'), 404],
    [new DuplicateError('network', ['vlan']), 409],
    [new ConflictError('instance', 'x', 3, 'expected', 'taskState'), 409],
    [new ExhaustedError('no free address'), 409],
    [new UnavailableError('down'), 503],
  ])('maps %s to %i', (err, status) => {
    expect(toProblem(err).status).toBe(status);
    expect(toProblem(err).body.error.code).toBe(err.code);
  });

  it('names the bad fields of validation errors', () => {
    expect(
      toProblem(
        new InvalidInputError('instance', [{ field: 'flavor.vcpus', message: 'too small' }]),
      ).body.error.fields,
    ).toEqual([{ field: 'flavor.vcpus', message: 'too small' }]);
    expect(
      toProblem(new InvalidQueryError('instance: where.host: must be a string')).body.error.fields,
    ).toEqual([{ field: 'host', message: 'instance: where.host: must be a string' }]);
    expect(
      toProblem(new InvalidQueryError('after: not a cursor returned by list')).body.error.fields,
    ).toEqual([{ field: 'after', message: 'after: not a cursor returned by list' }]);
  });

  it('asks for a retry on 503 without the driver message', () => {
    const p = toProblem(new UnavailableError('ECONNREFUSED 10.1.2.3:6379 password=hunter2'));
    expect(p.headers).toEqual({ 'Retry-After': '1' });
    expect(JSON.stringify(p.body)).not.toMatch(/hunter2|ECONNREFUSED/);
  });

  it('says nothing about anything else', () => {
    const p = toProblem(new TypeError('cannot read x of undefined at /srv/app.js:12'));
    expect(p).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
      headers: {},
    });
  });
});
