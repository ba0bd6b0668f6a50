import { isUsableAddress } from '@polystore/core/adapter';

/** How many addresses past the last one {@link nextFreeAfter} looks at before giving up. */
const LOOK_AHEAD = 256;

/**
 * The address the next allocation in a network will most likely take: the first usable
 * address after `last` (the one just chosen) that `taken` does not hold. It is a guess
 * only, used to learn in advance whether that address's index directory exists; the
 * address itself is always chosen again from a fresh read. `undefined` when none is found
 * close by (a full network, an address form this does not step through).
 */
export function nextFreeAfter(
  network: { readonly cidr: string; readonly gateway: string | null },
  last: string,
  taken: ReadonlySet<string>,
): string | undefined {
  let candidate: string | undefined = last;
  for (let i = 0; i < LOOK_AHEAD; i++) {
    candidate = successor(candidate);
    if (candidate === undefined) return undefined;
    if (!taken.has(candidate) && isUsableAddress(network.cidr, network.gateway, candidate))
      return candidate;
  }
  return undefined;
}

/**
 * The address after `address`, written as core writes the addresses it chooses (dotted
 * quad; RFC 5952 for IPv6), or `undefined` past the last address or for a form not
 * handled here (IPv6 with a dotted tail).
 */
export function successor(address: string): string | undefined {
  if (address.includes(':')) return successorV6(address);
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    return undefined;
  const n = parts.reduce((acc, p) => acc * 256 + p, 0) + 1;
  if (n > 0xffff_ffff) return undefined;
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function successorV6(address: string): string | undefined {
  if (address.includes('.')) return undefined;
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const words = [...head, ...Array<string>(missing).fill('0'), ...tail].map((g) =>
    /^[0-9a-fA-F]{1,4}$/.test(g) ? Number.parseInt(g, 16) : Number.NaN,
  );
  if (words.some(Number.isNaN)) return undefined;
  // Add one, carrying through the 16-bit words from the last.
  let i = 7;
  while (i >= 0 && words[i] === 0xffff) words[i--] = 0;
  if (i < 0) return undefined;
  words[i]! += 1;
  return formatV6(words);
}

/** RFC 5952: lowercase, no leading zeros, the first longest run of two or more zero words `::`. */
function formatV6(words: readonly number[]): string {
  let best = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    if (words[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && words[end] === 0) end++;
    if (end - start > bestLength) {
      best = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}
