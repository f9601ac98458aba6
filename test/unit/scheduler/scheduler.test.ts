import { MemoryStore } from '../../../src/store/index.js';
import { describeSchedulerLoop } from './loopSuite.js';

describeSchedulerLoop('scheduler loop (MemoryStore)', async () => new MemoryStore());
