import { instanceResource } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import { MongoLayout } from '../src/layout.js';

describe('MongoLayout.fromDocument', () => {
  const layout = new MongoLayout(instanceResource, 'p_');
  const record = {
    id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    projectId: 'p1',
    displayName: 'one',
    hostname: 'one.example',
    host: null,
    vmState: 'active',
    taskState: null,
    flavor: { vcpus: 2, memoryMb: 2048, rootGb: 20 },
    metadata: { 'a.b': 'dotted', $x: 'dollar' },
    revision: 3,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:01.000Z',
    deletedAt: null,
    objectVersion: '1.0',
  };

  it('reads back the record toDocument wrote, hidden markers left out', () => {
    const doc = layout.toDocument(record);
    const back = layout.fromDocument(structuredClone(doc));
    expect(back).toMatchObject(record);
    expect(Object.keys(back)).toEqual([
      'id',
      'projectId',
      ...instanceResource.fieldNames,
      'revision',
      'createdAt',
      'updatedAt',
      'deletedAt',
      'objectVersion',
    ]);
  });

  it('leaves out a field an older document lacks, and reads a missing projectId and deletedAt as null', () => {
    const doc = layout.toDocument(record) as Record<string, unknown>;
    delete doc.metadata;
    delete doc.projectId;
    delete doc.deletedAt;
    const back = layout.fromDocument(doc);
    expect(back).not.toHaveProperty('metadata');
    expect(back.projectId).toBeNull();
    expect(back.deletedAt).toBeNull();
    expect(back.flavor).toEqual(record.flavor);
  });
});
