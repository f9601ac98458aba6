import { inject } from 'vitest';
import { EtcdStore } from '../../../src/store/index.js';
import { uniqueName } from '../../support/names.js';
import { describeControllerLoop } from '../../unit/controller/loopSuite.js';

// The same loop tests as the unit suite, on real etcd: each test gets its own key prefix.
describeControllerLoop('controller loop (etcd)', () => EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('controller')}`));
