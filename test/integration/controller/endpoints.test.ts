import { inject } from 'vitest';
import { EtcdStore } from '../../../src/store/index.js';
import { uniqueName } from '../../support/names.js';
import { describeEndpointsLoop } from '../../unit/controller/endpointsSuite.js';

// The same endpoints loop tests as the unit suite, on real etcd: each test gets its own key prefix.
describeEndpointsLoop('endpoints loop (etcd)', () => EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('endpoints')}`));
