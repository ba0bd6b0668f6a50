import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
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

  it('picks in IPv4 what a walk over ipaddr.js text picks: the lowest usable address not taken', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 8 }),
        fc.uniqueArray(fc.nat(300), { maxLength: 40 }),
        fc.option(fc.nat(300)),
        (start, hostBits, takenOffsets, gatewayOffset) => {
          const prefix = 32 - hostBits;
          const base = (start >>> hostBits) * 2 ** hostBits;
          const text = (n: number) =>
            ipaddr.fromByteArray([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString();
          const cidr = `${text(base)}/${prefix}`;
          const size = 2 ** hostBits;
          const taken = new Set(takenOffsets.filter((o) => o < size).map((o) => text(base + o)));
          const gateway = gatewayOffset === null ? null : text(base + (gatewayOffset % size));
          let want: string | undefined;
          for (let o = 1; o <= size - 2 && want === undefined; o++) {
            const a = text(base + o);
            if (a !== gateway && !taken.has(a)) want = a;
          }
          expect(lowestFreeAddress(cidr, gateway, taken)).toBe(want);
        },
      ),
    );
    // The last usable address of the whole space, and a full /30.
    const all = lowestFreeAddress('255.255.255.252/30', null, new Set(['255.255.255.253']));
    expect(all).toBe('255.255.255.254');
    expect(lowestFreeAddress('10.0.0.0/30', '10.0.0.1', new Set(['10.0.0.2']))).toBeUndefined();
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
