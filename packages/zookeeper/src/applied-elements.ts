import type { AnyResource } from '@polystore/core';
import { elementNames, elementsFromNames, type SchemaElements } from '@polystore/core/adapter';

/**
 * How the applied elements of a resource are stored: the data of one znode per resource
 * (`<chroot>/<plural>/schema`, see {@link ResourceLayout.schema}) holding core's
 * `ElementNames` as JSON (and the write floor, once one is set). The reader takes each
 * field's declaration from its own resource's history.
 */

/**
 * The znode data of a set of elements and, when one is set, the write floor of a live
 * upgrade (`floor`, see `ZooKeeperBackend.setWriteFloor`): kept in the same znode so that
 * the version check every write's multi carries guards the floor too.
 */
export function encodeElements(elements: SchemaElements, floor?: string): Buffer {
  const names = elementNames(elements);
  return Buffer.from(JSON.stringify(floor === undefined ? names : { ...names, floor }), 'utf8');
}

/** The write floor a schema znode's data records (`undefined`: none). */
export function decodeFloor(data: Buffer): string | undefined {
  const { floor } = JSON.parse(data.toString('utf8')) as { readonly floor?: unknown };
  return typeof floor === 'string' ? floor : undefined;
}

/** The elements a schema znode's data records, as `resource`'s code sees them. */
export function decodeElements(data: Buffer, resource: AnyResource): SchemaElements {
  return elementsFromNames(JSON.parse(data.toString('utf8')), resource);
}
