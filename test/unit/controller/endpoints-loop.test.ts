import { MemoryStore } from '../../../src/store/index.js';
import { describeEndpointsLoop } from './endpointsSuite.js';

describeEndpointsLoop('endpoints loop (MemoryStore)', async () => new MemoryStore());
