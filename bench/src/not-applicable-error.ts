/**
 * A peer that cannot run on this server at all (e.g. it needs a feature FerretDB does not
 * implement): its cells are reported as not applicable, with this message, not as missing.
 */
export class NotApplicableError extends Error {
  override readonly name = 'NotApplicableError';
}
