import type { AnyResource } from '@polystore/core';
import { elementNames, elementsFromNames, type SchemaElements } from '@polystore/core/adapter';

/**
 * How the applied elements of a resource are stored: the data of one znode per resource
 * (`<chroot>/<plural>/schema`, see {@link ResourceLayout.schema}) holding core's
 * `ElementNames` as JSON. The reader takes each field's declaration from its own
 * resource's history.
 */

/** The znode data of a set of elements. */
export function encodeElements(elements: SchemaElements): Buffer {
  return Buffer.from(JSON.stringify(elementNames(elements)), 'utf8');
}

/** The elements a schema znode's data records, as `resource`'s code sees them. */
export function decodeElements(data: Buffer, resource: AnyResource): SchemaElements {
  return elementsFromNames(JSON.parse(data.toString('utf8')), resource);
}
