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

  it('picks what a walk over ipaddr.js text picks: the lowest usable address not taken (above `after`)', () => {
    const text = (v4: boolean, n: bigint) => {
      const width = v4 ? 4 : 16;
      const bytes: number[] = [];
      for (let i = width - 1; i >= 0; i--) bytes.push(Number((n >> BigInt(8 * i)) & 0xffn));
      const a = ipaddr.fromByteArray(bytes);
      return v4 ? a.toString() : (a as ipaddr.IPv6).toRFC5952String();
    };
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        fc.integer({ min: 0, max: 8 }),
        fc.uniqueArray(fc.nat(300), { maxLength: 40 }),
        fc.option(fc.nat(300)),
        fc.option(fc.nat(300)),
        (v4, start, hostBits, takenOffsets, gatewayOffset, afterOffset) => {
          const bits = v4 ? 32 : 128;
          const size = 1n << BigInt(hostBits);
          const base = ((start % (1n << BigInt(bits))) >> BigInt(hostBits)) << BigInt(hostBits);
          const at = (o: number) => text(v4, base + (BigInt(o) % size));
          const cidr = `${text(v4, base)}/${bits - hostBits}`;
          const taken = new Set(takenOffsets.filter((o) => BigInt(o) < size).map(at));
          const gateway = gatewayOffset === null ? null : at(gatewayOffset);
          const after = afterOffset === null ? undefined : at(afterOffset);
          const lastUsable = v4 ? size - 2n : size - 1n;
          const from = afterOffset === null ? 1n : (BigInt(afterOffset) % size) + 1n;
          let want: string | undefined;
          for (let o = from; o <= lastUsable && want === undefined; o++) {
            const a = text(v4, base + o);
            if (a !== gateway && !taken.has(a)) want = a;
          }
          expect(lowestFreeAddress(cidr, gateway, taken, after)).toBe(want);
        },
      ),
    );
    // The last usable address of the whole space, and a full /30.
    const all = lowestFreeAddress('255.255.255.252/30', null, new Set(['255.255.255.253']));
    expect(all).toBe('255.255.255.254');
    expect(lowestFreeAddress('10.0.0.0/30', '10.0.0.1', new Set(['10.0.0.2']))).toBeUndefined();
    // After an address: skipping taken and gateway, none past the broadcast address, none
    // for an address of the other family.
    const taken = new Set(['10.0.0.1', '10.0.0.2']);
    expect(lowestFreeAddress('10.0.0.0/29', '10.0.0.3', taken, '10.0.0.1')).toBe('10.0.0.4');
    expect(lowestFreeAddress('10.0.0.0/29', null, new Set(), '10.0.0.6')).toBeUndefined();
    expect(lowestFreeAddress('10.0.0.0/29', null, new Set(), '2001:db8::1')).toBeUndefined();
    expect(lowestFreeAddress('2001:db8::/112', null, new Set(), '2001:db8::ffff')).toBeUndefined();
    expect(lowestFreeAddress('2001:db8::/64', null, new Set(), '2001:db8::ffff')).toBe(
      '2001:db8::1:0',
    );
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
