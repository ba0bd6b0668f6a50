export {
  type BackendMutation,
  databaseOf,
  mutantOpen,
  patchStore,
  replaceStore,
  withFeatures,
} from './memory-mutant.js';
export { HONEST_LIMITED, MUTANTS, type Mutant } from './mutants.js';
export {
  openTcpMemoryStores,
  startTcpMemoryServer,
  type TcpMemoryOptions,
  type TcpMemoryServer,
} from './tcp-memory.js';
