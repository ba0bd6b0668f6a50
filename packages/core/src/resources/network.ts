import { f } from '../schema/field.js';
import { defineResource, type RecordOf } from '../schema/resource.js';
import type { ResourceStore } from '../store.js';

/**
 * An IP network. Owned by a project, or shared (`projectId: null`, created by an admin):
 * every project can read and allocate from a shared network, only admins change it.
 */
export const networkResource = defineResource({
  name: 'network',
  plural: 'networks',
  scope: 'shared',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    label: f.string({ max: 255 }).sortable(),
    cidr: f.cidr().immutable().describe('the address range fixed IPs are allocated from'),
    gateway: f.ip().nullable().immutable().describe('never allocated'),
    dnsServers: f.list(f.ip(), { max: 8 }).default([]),
    vlan: f.int({ min: 1, max: 4094 }).nullable().indexed().describe('unique among live networks'),
  },
  unique: [['vlan']],
});

/** A stored network. */
export type Network = RecordOf<typeof networkResource>;

/** The store of networks. */
export interface NetworkStore extends ResourceStore<typeof networkResource> {}
