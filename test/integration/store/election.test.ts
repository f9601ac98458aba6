import { inject } from 'vitest';
import { EtcdStore } from '../../../src/store/index.js';
import { uniqueName } from '../../support/names.js';
import { describeElection } from '../../unit/store/electionSuite.js';

// Two connections to real etcd, as two processes; a death is a connection closed without a word:
// its lease is no longer renewed and etcd expires it.
describeElection('leader election (etcd)', async () => {
  const prefix = `/${uniqueName('election')}`;
  const stores = [await EtcdStore.connect([inject('etcdEndpoint')], prefix), await EtcdStore.connect([inject('etcdEndpoint')], prefix)] as [EtcdStore, EtcdStore];
  return {
    stores,
    kill: async (s) => s.close(),
    close: async () => {
      await Promise.allSettled(stores.map((s) => s.close()));
    },
  };
});
