import {
  DuplicateError,
  ExhaustedError,
  InvalidInputError,
  UnavailableError,
} from '@polystore/core';
import { describe, expect, it } from 'vitest';
import { toCoreError } from '../src/errors.js';

const at = { operation: 'insert', resource: 'instance' };

describe('toCoreError', () => {
  it('passes core errors through unchanged', () => {
    const dup = new DuplicateError('instance', ['id']);
    expect(toCoreError(dup, at)).toBe(dup);
  });

  it('maps a value structuredClone refuses to InvalidInputError of the resource', () => {
    let clone: unknown;
    try {
      structuredClone({ f: () => 1 });
    } catch (err) {
      clone = err;
    }
    const mapped = toCoreError(clone, at);
    expect(mapped).toBeInstanceOf(InvalidInputError);
    expect((mapped as InvalidInputError).resource).toBe('instance');
  });

  it('maps a full table (RangeError) to ExhaustedError and anything else to UnavailableError', () => {
    const full = toCoreError(new RangeError('Map maximum size exceeded'), at);
    expect(full).toBeInstanceOf(ExhaustedError);
    expect(full.message).toMatch(/memory instance insert: the table is full/);
    const other = toCoreError(new TypeError('boom'), { operation: 'list' });
    expect(other).toBeInstanceOf(UnavailableError);
    expect(other.message).toBe('memory list: boom');
    expect(other.cause).toBeInstanceOf(TypeError);
    expect(toCoreError('text', at)).toBeInstanceOf(UnavailableError);
  });
});
