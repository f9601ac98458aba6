// The scheduler: unbound pods → nodes. A pure core (filters, scores, schedule) and a loop that binds with CAS.
export { startScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';
export { schedule, DEFAULT_PROFILE, type Bind, type Profile, type ScheduleOptions, type ScheduleResult, type Unschedulable } from './schedule.js';
export { numFeasibleNodesToFind, MIN_FEASIBLE_NODES_TO_FIND } from './sample.js';
export { addPod, nodeInfo, podInfo, podHostPorts, podRequests, FITS, type FilterPlugin, type NodeInfo, type PodInfo, type ScorePlugin } from './framework.js';
export { nodeSelector, NODE_SELECTOR_MISMATCH } from './plugins/nodeSelector.js';
export { hostPorts, HOST_PORTS_TAKEN } from './plugins/hostPorts.js';
export { resources } from './plugins/resources.js';
export { leastAllocated } from './plugins/leastAllocated.js';
export { fewestPods, spreadByOwner } from './plugins/spread.js';
