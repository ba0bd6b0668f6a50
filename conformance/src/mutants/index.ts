export { CONTRACT_MUTANTS } from './contract-mutants.js';
export {
  EVOLUTION_MUTANTS,
  type EvolutionMutation,
  evolutionMutantOpen,
} from './evolution-mutants.js';
export {
  type BackendMutation,
  databaseOf,
  databasesStartingWith,
  mutantEvolutionOpen,
  mutantOpen,
  patchStore,
  replaceStore,
  withFeatures,
} from './memory-mutant.js';
export type { Mutant } from './mutants.js';
export {
  openTcpMemoryStores,
  startTcpMemoryServer,
  type TcpMemoryOptions,
  type TcpMemoryServer,
} from './tcp-memory.js';
export {
  UPGRADE_MUTANTS,
  type UpgradeMutation,
  upgradeMutantOpen,
} from './upgrade-mutants.js';
export { HONEST_LIMITED, MUTANTS } from './with-upgrade.js';
