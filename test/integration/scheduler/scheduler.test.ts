import { inject } from 'vitest';
import { EtcdStore } from '../../../src/store/index.js';
import { uniqueName } from '../../support/names.js';
import { describeSchedulerLoop } from '../../unit/scheduler/loopSuite.js';

// The same loop tests as the unit suite, on real etcd: each test gets its own key prefix.
describeSchedulerLoop('scheduler loop (etcd)', () => EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('scheduler')}`));
