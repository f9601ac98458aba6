import { MemoryStore } from '../../../src/store/index.js';
import { describeHealthLoop } from './healthLoopSuite.js';

describeHealthLoop('berth/health reports (MemoryStore)', async () => new MemoryStore());
