import { inject } from 'vitest';
import { EtcdStore } from '../../../src/store/index.js';
import { uniqueName } from '../../support/names.js';
import { describeHealthLoop } from '../../unit/controller/healthLoopSuite.js';

// The same health tests as the unit suite, on real etcd: each test gets its own key prefix.
describeHealthLoop('berth/health reports (etcd)', () => EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('health')}`));
