// The node agent: the only importer of dockerode (behind ContainerRuntime); the converge plan is pure.
export type { Container, ContainerRuntime, ContainerState, PullProgress, RunPort, RunSpec, RuntimeEvent } from './runtime.js';
export { isRuntimeDown, RUNTIME_DOWN } from './runtime.js';
export type { DockerHost } from './docker-host.js';
export { dockerHostOptions, DOCKER_HINT } from './docker-host.js';
export type { DockerRuntimeOptions } from './docker.js';
export { DockerRuntime } from './docker.js';
export type { ContainerAction, PlanOptions } from './plan.js';
export { planContainers } from './plan.js';
export { LABEL, containerName } from './labels.js';
export type { Problem, StatusContext } from './status.js';
export { podStatus } from './status.js';
export type { Agent, AgentOptions } from './agent.js';
export { startAgent } from './agent.js';
export { parseNodeLabels } from './node-labels.js';
export { defaultAddress, parseAddress } from './address.js';
export { RegistryAuth, registryAuthPath } from './registry-auth.js';
export type { RegistryCredential } from './registry-auth.js';
export { ALLOW_RULES, parseAllow } from './policy.js';
export type { AllowRule } from './policy.js';
// startNodeServer is imported from './node-server.js' when a node endpoint is asked for: it loads ws, exec and logs.
export type { NodeServer, NodeServerOptions } from './node-server.js';
export { DockerStubs, type StubRuntime } from './service-docker.js';
export { DEFAULT_SERVICE_IMAGE } from './proxy-image.js';
export { metered } from './metered.js';
export { AgeIdentities } from './age.js';
