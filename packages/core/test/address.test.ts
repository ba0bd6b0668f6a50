import { describe, expect, it } from 'vitest';
import { checkRequestedAddress, isUsableAddress, lowestFreeAddress } from '../src/adapter.js';
import { InvalidInputError } from '../src/index.js';

describe('address allocation helpers', () => {
  it('never offers the network, broadcast or gateway address', () => {
    const taken = new Set<string>();
    const got: string[] = [];
    for (;;) {
      const a = lowestFreeAddress('10.0.0.0/29', '10.0.0.1', taken);
      if (a === undefined) break;
      got.push(a);
      taken.add(a);
    }
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  });

  it('works for IPv6 and skips only the subnet-router address and gateway', () => {
    expect(lowestFreeAddress('2001:db8::/126', null, new Set())).toBe('2001:db8::1');
    expect(lowestFreeAddress('2001:db8::/126', '2001:db8::1', new Set(['2001:db8::2']))).toBe(
      '2001:db8::3',
    );
    expect(lowestFreeAddress('2001:db8::/128', null, new Set())).toBeUndefined();
  });

  it('judges requested addresses', () => {
    expect(isUsableAddress('10.0.0.0/24', null, '10.0.0.0')).toBe(false);
    expect(isUsableAddress('10.0.0.0/24', null, '10.0.0.255')).toBe(false);
    expect(isUsableAddress('10.0.0.0/24', '10.0.0.1', '10.0.0.1')).toBe(false);
    expect(isUsableAddress('10.0.0.0/24', null, '10.0.1.1')).toBe(false);
    expect(isUsableAddress('10.0.0.0/24', null, '2001:db8::1')).toBe(false);
    expect(isUsableAddress('10.0.0.0/24', null, '10.0.0.7')).toBe(true);
    expect(() => checkRequestedAddress({ cidr: '10.0.0.0/24', gateway: null }, '10.0.0.0')).toThrow(
      InvalidInputError,
    );
  });
});
