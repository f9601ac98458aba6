// The controller: sealed Deployments → pods. Talks to the rest of berth only through the Store.
export { startController, type Controller, type ControllerOptions } from './controller.js';
export { planPods, podName, resolveRollout, type DesiredDeployment, type PlanPodsOptions, type PodConflict, type PodPlan, type RolloutBounds } from './pods.js';
export { isPodReady, readyPodKeys } from '../store/index.js';
export { applyPodPlan, type ApplyResult } from './apply.js';
export { readSealedDeployments, type SealedView } from './desired.js';
export { commitHealth, SETTLE_MS, UNSCHEDULED_AFTER_MS, MAX_HEALTH_DESCRIPTION, type CommitHealth, type HealthInput, type HealthState } from './health.js';
export { planHealthReport, DRIFT_DAMP_MS, MAX_HEALTH_REPORTS, type HealthReport } from './health-report.js';
export { startHealthLoop, systemTimer, NODE_GRACE_MS, type HealthLoopOptions, type SetTimer } from './health-loop.js';
export { allocateNodePorts, endpointsOf, planEndpoints, type DesiredService, type EndpointsInput, type EndpointsPlan } from './endpoints.js';
export { startEndpointsController, type EndpointsController, type EndpointsControllerOptions } from './services.js';
export { planNodeLifecycle, ownerKey, DEFAULT_NODE_GRACE_MS, FORGET_LOST_AFTER_MS, type Eviction, type NodeLifecycleInput, type NodeLifecyclePlan } from './node-lifecycle.js';
export { startNodeLifecycle, type NodeLifecycle, type NodeLifecycleOptions } from './nodes.js';
