// Kubernetes fields berth knows and refuses, each with the reason and the fix. A field in none
// of these tables and not supported is a plain unknown field (a typo gets a suggestion).

const no = (why: string): string => `a Kubernetes field berth does not support (${why}); remove it`;
const notYet = (what: string): string => `a Kubernetes field berth does not support yet (${what}); remove it`;

// NOTE: what a container may do on its host is decided by whoever runs the agents. A push must
// never be able to widen it, so these are refused outright, not "not yet".
/** Why a field that would widen what a container may do on its host is refused. */
export const PRIVILEGE =
  'a Kubernetes field berth never takes from a repository: a push must not widen what a container may do on its host, and berth runs every container without extra privileges, host namespaces or host mounts; remove it';
const CLUSTER_SET = 'set by the cluster, not by the repository; remove it';

/** ObjectMeta fields other than name, namespace, labels and annotations. */
export const METADATA: Readonly<Record<string, string>> = {
  generateName: no('berth needs a fixed `name` to track the object across commits'),
  uid: CLUSTER_SET,
  resourceVersion: CLUSTER_SET,
  generation: CLUSTER_SET,
  deletionTimestamp: CLUSTER_SET,
  deletionGracePeriodSeconds: CLUSTER_SET,
  managedFields: CLUSTER_SET,
  selfLink: CLUSTER_SET,
  ownerReferences: no('objects in a repository have no owners but the repository'),
  finalizers: no('berth deletes an object when it leaves the repository'),
};

/** DeploymentSpec fields other than replicas, selector, strategy, template, minReadySeconds, progressDeadlineSeconds and revisionHistoryLimit. */
export const DEPLOYMENT_SPEC: Readonly<Record<string, string>> = {
  paused: no('to stop a rollout, revert or change the commit'),
};

/** LabelSelector fields other than matchLabels. */
export const SELECTOR: Readonly<Record<string, string>> = {
  matchExpressions: no('a Deployment selects its pods by `matchLabels` only'),
};

/** PodSpec fields other than containers, initContainers, nodeSelector, restartPolicy, terminationGracePeriodSeconds, securityContext, the host namespaces and the service account's. */
export const POD_SPEC: Readonly<Record<string, string>> = {
  ephemeralContainers: no('berth has no ephemeral debug containers'),
  serviceAccount: no('it is the old name of `serviceAccountName`; write that'),
  imagePullSecrets: no('registry credentials belong to the Docker configuration of the nodes, not to a Secret of the repository'),
  activeDeadlineSeconds: no('Deployment pods run until replaced'),
  nodeName: no('berth\'s scheduler places every pod; to pin pods, use `nodeSelector` with the node\'s labels'),
  affinity: notYet('the scheduler places pods by `nodeSelector` only'),
  tolerations: notYet('the scheduler places pods by `nodeSelector` only'),
  topologySpreadConstraints: notYet('the scheduler places pods by `nodeSelector` only'),
  schedulerName: no('berth has one scheduler'),
  priorityClassName: notYet('pods have no priorities'),
  priority: notYet('pods have no priorities'),
  preemptionPolicy: notYet('pods have no priorities'),
  schedulingGates: no('the scheduler places every pod as soon as it can'),
  dnsPolicy: no('berth does not manage pod DNS'),
  dnsConfig: no('berth does not manage pod DNS'),
  hostname: no('berth does not manage pod host names'),
  subdomain: no('berth does not manage pod host names'),
  setHostnameAsFQDN: no('berth does not manage pod host names'),
  hostAliases: no('berth does not manage pod host names'),
  enableServiceLinks: no('berth sets no Service environment variables; reach a Service by its name'),
  readinessGates: notYet('readiness is the containers\' state'),
  runtimeClassName: no('every container runs on the node\'s Docker runtime'),
  overhead: no('every container runs on the node\'s Docker runtime'),
  os: no('every container runs on the node\'s Docker runtime'),
  resources: notYet('set `resources` on each container'),
  resourceClaims: no('berth has no dynamic resource allocation'),
  hostUsers: PRIVILEGE,
  shareProcessNamespace: PRIVILEGE,
};

/** Container fields other than name, image, command, args, env, ports, resources, imagePullPolicy, the probes, lifecycle and securityContext. */
export const CONTAINER: Readonly<Record<string, string>> = {
  workingDir: notYet('set the working directory in the image'),
  terminationMessagePath: no('berth reads a failed container\'s state from Docker'),
  terminationMessagePolicy: no('berth reads a failed container\'s state from Docker'),
  stdin: no('berth runs containers detached, without a terminal'),
  stdinOnce: no('berth runs containers detached, without a terminal'),
  tty: no('berth runs containers detached, without a terminal'),
  resizePolicy: no('a change of resources replaces the pod'),
  restartPolicy: no('containers restart as their pod\'s `restartPolicy` says'),
  volumeDevices: PRIVILEGE,
};

/** Probe fields other than the handlers and the five timings. */
export const PROBE: Readonly<Record<string, string>> = {
  terminationGracePeriodSeconds: notYet('a container restarted by a failed probe is stopped with its pod\'s terminationGracePeriodSeconds'),
};

/** HTTPGetAction fields other than path, port, scheme and httpHeaders. */
export const HTTP_GET: Readonly<Record<string, string>> = {
  host: notYet('probes and hooks reach the container\'s own address'),
};

/** TCPSocketAction fields other than port. */
export const TCP_SOCKET: Readonly<Record<string, string>> = {
  host: notYet('probes reach the container\'s own address'),
};

/** Lifecycle fields other than preStop. */
export const LIFECYCLE: Readonly<Record<string, string>> = {
  postStart: notYet('berth runs preStop hooks only'),
  stopSignal: notYet('containers are stopped with SIGTERM'),
};

/** LifecycleHandler fields other than exec and httpGet. */
export const HOOK: Readonly<Record<string, string>> = {
  sleep: notYet('use an exec hook such as `["sleep", "5"]`'),
  tcpSocket: no('Kubernetes ignores a tcpSocket hook; use exec or httpGet'),
};

/** ContainerPort fields other than name, containerPort, hostPort and protocol. */
export const PORT: Readonly<Record<string, string>> = {
  hostIP: notYet('a hostPort is published on every address of the node'),
};

/** EnvVarSource fields other than configMapKeyRef, secretKeyRef and fieldRef. */
export const ENV_VAR_SOURCE: Readonly<Record<string, string>> = {
  resourceFieldRef: notYet('berth passes no resource amounts into containers'),
  fileKeyRef: notYet('berth reads env values from ConfigMaps and pod fields only'),
};

/** EnvFromSource fields other than configMapRef, secretRef and prefix. */
export const ENV_FROM: Readonly<Record<string, string>> = {};

/** Secret fields other than apiVersion, kind, metadata, type, data, stringData and sops. */
export const SECRET: Readonly<Record<string, string>> = {
  immutable: no('a Secret changes when its file changes'),
};

/** ResourceRequirements fields other than requests and limits. */
export const RESOURCES: Readonly<Record<string, string>> = {
  claims: no('berth has no dynamic resource allocation'),
};

/** Resource names other than cpu and memory. */
export const RESOURCE_NAMES: Readonly<Record<string, string>> = {
  'ephemeral-storage': notYet('berth accounts for cpu and memory only'),
  'nvidia.com/gpu': notYet('berth accounts for cpu and memory only'),
};

/** ConfigMap fields other than data. */
export const CONFIG_MAP: Readonly<Record<string, string>> = {
  binaryData: notYet('put text under `data`'),
  immutable: no('a ConfigMap changes when its file changes'),
};

/** ServiceSpec fields other than type, selector, ports, clusterIP (None only) and sessionAffinity (None only). */
export const SERVICE_SPEC: Readonly<Record<string, string>> = {
  clusterIPs: no('berth gives a Service a name, not a virtual IP; for a headless Service write `clusterIP: None`'),
  externalIPs: no('berth publishes a Service on the nodes\' addresses with `type: NodePort`'),
  externalName: no('berth has no ExternalName Services'),
  externalTrafficPolicy: notYet('a NodePort forwards to every ready pod, on any node'),
  internalTrafficPolicy: notYet('a Service forwards to every ready pod, on any node'),
  healthCheckNodePort: no('berth has no LoadBalancer Services'),
  loadBalancerIP: no('berth has no LoadBalancer Services'),
  loadBalancerSourceRanges: no('berth has no LoadBalancer Services'),
  loadBalancerClass: no('berth has no LoadBalancer Services'),
  allocateLoadBalancerNodePorts: no('berth has no LoadBalancer Services'),
  publishNotReadyAddresses: notYet('a Service forwards only to ready pods'),
  sessionAffinityConfig: notYet('sessionAffinity is None'),
  ipFamilies: no('a Service is reached by its name on IPv4'),
  ipFamilyPolicy: no('a Service is reached by its name on IPv4'),
  trafficDistribution: notYet('a Service spreads connections evenly over its ready pods'),
};

/** ServicePort fields other than name, port, targetPort, protocol and nodePort. */
export const SERVICE_PORT: Readonly<Record<string, string>> = {
  appProtocol: no('berth forwards TCP connections whatever they carry'),
};

/** Why `type: ExternalName` is refused. */
export const EXTERNAL_NAME = 'ExternalName is not supported by berth (it serves no DNS records of its own); write the external name where it is used';

/** Why a protocol other than TCP is refused on a Service port. */
export const SERVICE_PROTOCOL = 'berth forwards TCP only so far (UDP and SCTP Services are not supported yet); remove the port or use TCP';

/** Why a clusterIP other than None is refused. */
export const CLUSTER_IP = 'berth gives a Service a name, not a virtual IP: only `None` (a headless Service) may be written here; remove it';

/** Why sessionAffinity ClientIP is refused. */
export const SESSION_AFFINITY = 'ClientIP is not supported yet (berth spreads each connection over the ready pods); remove it or write None';

/** Volume sources other than configMap, secret, emptyDir and hostPath. */
export const VOLUME: Readonly<Record<string, string>> = {
  persistentVolumeClaim: notYet('persistent volumes come later; use an emptyDir for scratch space'),
  projected: notYet('mount each ConfigMap or Secret as its own volume'),
  downwardAPI: notYet('pass pod fields through `env` with `fieldRef`'),
  ephemeral: notYet('persistent volumes come later'),
  csi: notYet('berth has no volume drivers'),
  image: notYet('berth has no image volumes'),
  nfs: PRIVILEGE,
  iscsi: PRIVILEGE,
  fc: PRIVILEGE,
  rbd: PRIVILEGE,
  cephfs: PRIVILEGE,
  glusterfs: PRIVILEGE,
  flexVolume: PRIVILEGE,
  gitRepo: no('it is deprecated in Kubernetes; clone in an init step of the image'),
  awsElasticBlockStore: no('berth has no cloud disks'),
  gcePersistentDisk: no('berth has no cloud disks'),
  azureDisk: no('berth has no cloud disks'),
  azureFile: no('berth has no cloud disks'),
  cinder: no('berth has no cloud disks'),
  vsphereVolume: no('berth has no cloud disks'),
  portworxVolume: no('berth has no cloud disks'),
  photonPersistentDisk: no('berth has no cloud disks'),
  scaleIO: no('berth has no cloud disks'),
  storageos: no('berth has no cloud disks'),
  quobyte: no('berth has no cloud disks'),
  flocker: no('berth has no cloud disks'),
};

/** ConfigMapVolumeSource fields other than name, items, defaultMode and optional. */
export const CONFIG_MAP_VOLUME: Readonly<Record<string, string>> = {};

/** VolumeMount fields other than name, mountPath, readOnly and subPath. */
export const VOLUME_MOUNT: Readonly<Record<string, string>> = {
  mountPropagation: PRIVILEGE,
  recursiveReadOnly: notYet('a readOnly mount is read-only; its submounts are the pod\'s own'),
  subPathExpr: notYet('write the `subPath` itself'),
};

/** ServiceAccount fields other than metadata and automountServiceAccountToken. */
export const SERVICE_ACCOUNT: Readonly<Record<string, string>> = {
  secrets: no('berth mounts no service account token'),
  imagePullSecrets: no('registry credentials belong to the Docker configuration of the nodes, not to a Secret of the repository'),
};

/** HostPathVolumeSource fields other than path and type. */
export const HOST_PATH: Readonly<Record<string, string>> = {};
