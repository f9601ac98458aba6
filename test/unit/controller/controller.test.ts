import { MemoryStore } from '../../../src/store/index.js';
import { describeControllerLoop } from './loopSuite.js';

describeControllerLoop('controller loop (MemoryStore)', async () => new MemoryStore());
