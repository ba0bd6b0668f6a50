import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from './errors.js';

/** Shortest explicit cursor key, in bytes: the HMAC is only as strong as its key. */
export const MIN_CURSOR_KEY_BYTES = 32;
/** Bytes of HMAC-SHA256 a cursor carries (128 bits: forging one means guessing them). */
const TAG_BYTES = 16;

/**
 * The secret that signs list cursors, so a client can neither forge a position nor move a
 * cursor to another project, query, resource or store.
 *
 * Where the key comes from (see `openStores`' `cursorKey`): an explicit secret shared by
 * every replica of a service; else one derived from the store URL, which every replica
 * configured alike shares (so a page fetched from one replica continues on another) and
 * which includes the credentials where the URL has them; a random one for an unnamed
 * `memory:` store, which no other open can reach. `createStores` and the adapters' own
 * `open…Stores` functions, which see no URL secret, use {@link CursorKey.unkeyed}: their
 * cursors are still bound and checked, but anyone who knows polystore can sign one.
 *
 * @example
 * ```ts
 * const key = CursorKey.from(process.env.POLYSTORE_CURSOR_KEY!);
 * const tag = key.sign(text);
 * key.verify(text, tag); // true
 * ```
 */
export class CursorKey {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  /** A key from an explicit secret of at least {@link MIN_CURSOR_KEY_BYTES} bytes. */
  static from(secret: string | Uint8Array): CursorKey {
    const bytes =
      typeof secret === 'string'
        ? Buffer.from(secret, 'utf8')
        : secret instanceof Uint8Array
          ? Buffer.from(secret)
          : undefined;
    if (bytes === undefined || bytes.length < MIN_CURSOR_KEY_BYTES) {
      throw new ConfigError(
        `cursorKey must be a string or bytes of at least ${MIN_CURSOR_KEY_BYTES} bytes`,
      );
    }
    return new CursorKey(derive(bytes, 'explicit'));
  }

  /** The key every process opening the same store URL derives alike. */
  static fromStoreUrl(url: string): CursorKey {
    return new CursorKey(derive(Buffer.from(url, 'utf8'), 'url'));
  }

  /**
   * The public key of stores opened without one. Not a secret: it makes the cursors of
   * two such stores over the same data identical (the conformance suite compares an
   * adapter's pages with the reference model's, cursors included), and every decoded
   * position is still checked against the sort field before an adapter sees it.
   */
  static unkeyed(): CursorKey {
    UNKEYED ??= new CursorKey(derive(Buffer.from('polystore', 'utf8'), 'unkeyed'));
    return UNKEYED;
  }

  /** A fresh random key, for a store only this process can reach. */
  static random(): CursorKey {
    return new CursorKey(randomBytes(32));
  }

  /** The tag of `message` (base64url). */
  sign(message: string): string {
    return this.#tag(message).toString('base64url');
  }

  /** Whether `tag` is the tag of `message`, compared in constant time. */
  verify(message: string, tag: string): boolean {
    const given = Buffer.from(tag, 'base64url');
    // base64url decoding ignores junk; a tag that does not re-encode exactly is not ours.
    if (given.length !== TAG_BYTES || given.toString('base64url') !== tag) return false;
    return timingSafeEqual(given, this.#tag(message));
  }

  #tag(message: string): Buffer {
    return createHmac('sha256', this.#key).update(message, 'utf8').digest().subarray(0, TAG_BYTES);
  }
}

let UNKEYED: CursorKey | undefined;

/** A key for cursors only, whatever else the input secret is used for. */
function derive(input: Buffer, kind: string): Buffer {
  return Buffer.from(hkdfSync('sha256', input, 'polystore', `cursor-key/${kind}`, 32));
}

/** The `cursorKey` option of `openStores` and `createStores`: a secret, or a key already made. */
export type CursorKeyOption = string | Uint8Array | CursorKey;

/** The key an option names; `undefined` when none is given. */
export function cursorKeyOf(option: CursorKeyOption | undefined): CursorKey | undefined {
  if (option === undefined) return undefined;
  return option instanceof CursorKey ? option : CursorKey.from(option);
}
