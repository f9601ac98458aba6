// The controller: sealed Deployments → pods. Talks to the rest of berth only through the Store.
export { startController, type Controller, type ControllerOptions } from './controller.js';
export { planPods, podName, type DesiredDeployment, type PlanPodsOptions, type PodConflict, type PodPlan } from './pods.js';
export { applyPodPlan, type ApplyResult } from './apply.js';
export { readSealedDeployments, type SealedView } from './desired.js';
