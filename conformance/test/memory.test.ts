import { openBackend } from '@polystore/core/adapter';
import { memoryAdapter, openMemoryStores } from '@polystore/memory';
import { describeConformance } from '../src/index.js';

describeConformance({
  name: 'memory',
  open: (namespace, { clock, ids }) => openMemoryStores({ name: namespace, clock, ids }),
  faults: {
    inProcess: 'the memory adapter keeps its data in the process: there is no connection to break',
  },
  evolution: {
    open: (namespace, { clock, ids }, resources) =>
      openBackend(`memory:${namespace}`, { clock, ids, resources, adapters: [memoryAdapter] }),
  },
  upgrade: {
    open: (namespace, options) =>
      openBackend(`memory:${namespace}`, { ...options, adapters: [memoryAdapter] }),
  },
});
