import { MemoryStore } from '../../../src/store/index.js';
import { describeElection } from './electionSuite.js';

// One MemoryStore shared by both candidates; a death is the lease expiring.
describeElection('leader election (memory)', async () => {
  const store = new MemoryStore();
  return { stores: [store, store], kill: (_s, lease) => store.expireLease(lease), close: async () => undefined };
});
