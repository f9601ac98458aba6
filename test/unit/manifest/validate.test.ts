import { describe, expect, it } from 'vitest';
import { deployment as d, deploymentWith as w, errorsOf } from './manifests.js';
import { formatError, parseFiles } from '../../../src/manifest/index.js';

// Each case: a manifest (the base Deployment of manifests.ts, appended to from line 17 or with one
// line replaced) and every error it must produce, exactly as `berth validate` prints them.
const C = 'app.yaml:17:9: spec.template.spec.containers[0]';
const NOT_YET = 'a Kubernetes field berth does not support yet';
const PRIVILEGE =
  'a Kubernetes field berth never takes from a repository: a push must not widen what a container may do on its host, and berth runs every container without extra privileges, host namespaces or host mounts; remove it';

describe('Deployment validation', () => {
  it('accepts the base manifest', () => {
    expect(errorsOf(d())).toEqual([]);
  });

  describe('containers', () => {
    it.each([
      ['a typo, with a suggestion', d('        imag: x'), [`${C}.imag: unknown field; did you mean \`image\`?`]],
      ['a probe with no handler', d('        livenessProbe: {}'), ['app.yaml:17:24: spec.template.spec.containers[0].livenessProbe: must have one of exec, httpGet, tcpSocket, grpc']],
      ['procMount (operator policy)', d('        securityContext: {procMount: Unmasked}'), [`app.yaml:17:27: spec.template.spec.containers[0].securityContext.procMount: ${PRIVILEGE}`]],
      ['a Docker-style capability', d('        securityContext: {capabilities: {drop: [CAP_NET_RAW]}}'), ['app.yaml:17:49: spec.template.spec.containers[0].securityContext.capabilities.drop[0]: must be a capability name such as NET_RAW or ALL, without CAP_, not "CAP_NET_RAW"']],
      ['a negative runAsUser', d('        securityContext: {runAsUser: -1}'), ['app.yaml:17:38: spec.template.spec.containers[0].securityContext.runAsUser: must be at least 0, not -1']],
      ['a quoted boolean', d('        securityContext: {runAsNonRoot: "true"}'), ['app.yaml:17:41: spec.template.spec.containers[0].securityContext.runAsNonRoot: must be true or false, not the string "true"; remove the quotes']],
      ['a port out of range', d('        ports: [{containerPort: 70000}]'), ['app.yaml:17:33: spec.template.spec.containers[0].ports[0].containerPort: must be at most 65535, not 70000']],
      ['port 0', d('        ports: [{containerPort: 0}]'), ['app.yaml:17:33: spec.template.spec.containers[0].ports[0].containerPort: must be at least 1, not 0']],
      ['SCTP', d('        ports: [{containerPort: 80, protocol: SCTP}]'), ['app.yaml:17:47: spec.template.spec.containers[0].ports[0].protocol: must be one of TCP, UDP, not "SCTP"']],
      [
        'a duplicate port name',
        d('        ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]'),
        ['app.yaml:17:57: spec.template.spec.containers[0].ports[1].name: duplicate port name "http" in this container'],
      ],
      [
        'a bad port name',
        d('        ports: [{name: HTTP_1, containerPort: 80}]'),
        [
          `app.yaml:17:24: spec.template.spec.containers[0].ports[0].name: "HTTP_1" is not a valid port name: at most 15 lowercase letters, digits and '-', with at least one letter, no '--', not starting or ending with '-' (e.g. "http")`,
        ],
      ],
      ['hostIP', d('        ports: [{containerPort: 80, hostIP: 0.0.0.0}]'), [`app.yaml:17:37: spec.template.spec.containers[0].ports[0].hostIP: ${NOT_YET} (a hostPort is published on every address of the node); remove it`]],
      ['an unquoted env number', d('        env: [{name: PORT, value: 8080}]'), ['app.yaml:17:35: spec.template.spec.containers[0].env[0].value: must be a string, not the number 8080; quote it: "8080"']],
      ['env from a Secret not in the commit', d('        env: [{name: A, valueFrom: {secretKeyRef: {name: x, key: y}}}]'), ['app.yaml:17:58: spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name: no Secret "x" in namespace "default" in this commit; add it, or set `optional: true`']],
      [
        'a bad env name',
        d('        env: [{name: 1X, value: a}]'),
        [`app.yaml:17:22: spec.template.spec.containers[0].env[0].name: "1X" is not a valid environment variable name: letters, digits, '_', '-' and '.', not starting with a digit (e.g. "MY_VAR")`],
      ],
      ['a bad cpu quantity', d('        resources: {limits: {cpu: 1 core}}'), ['app.yaml:17:35: spec.template.spec.containers[0].resources.limits.cpu: "1 core" is not a valid quantity (e.g. "100m", "0.5" or "2")']],
      ['a negative memory quantity', d('        resources: {requests: {memory: -1Gi}}'), ['app.yaml:17:40: spec.template.spec.containers[0].resources.requests.memory: "-1Gi" must not be negative']],
      ['a quantity that is a map', d('        resources: {limits: {cpu: {n: 1}}}'), ['app.yaml:17:35: spec.template.spec.containers[0].resources.limits.cpu: must be a quantity such as "100m", not a map']],
      ['a request above its limit', d('        resources: {requests: {cpu: 500m}, limits: {cpu: 250m}}'), ['app.yaml:17:37: spec.template.spec.containers[0].resources.requests.cpu: must not be more than its limit (250m)']],
      ['ephemeral-storage', d('        resources: {limits: {ephemeral-storage: 1Gi}}'), [`app.yaml:17:30: spec.template.spec.containers[0].resources.limits.ephemeral-storage: ${NOT_YET} (berth accounts for cpu and memory only); remove it`]],
      ['another resource', d('        resources: {limits: {hugepages-2Mi: 1Gi}}'), ['app.yaml:17:30: spec.template.spec.containers[0].resources.limits.hugepages-2Mi: unknown field (supported here: cpu, memory)']],
      ['an unknown pull policy', d('        imagePullPolicy: Sometimes'), ['app.yaml:17:26: spec.template.spec.containers[0].imagePullPolicy: must be one of Always, IfNotPresent, Never, not "Sometimes"']],
      ['a mis-cased pull policy', d('        imagePullPolicy: ifnotpresent'), ['app.yaml:17:26: spec.template.spec.containers[0].imagePullPolicy: must be one of Always, IfNotPresent, Never, not "ifnotpresent"; did you mean IfNotPresent?']],
      ['a command that is a string', d('        command: ls -l'), ['app.yaml:17:18: spec.template.spec.containers[0].command: must be a list, not the string "ls -l"']],
      [
        'a bad container name',
        w('      - name: web\n', '      - name: Web_1\n'),
        [`app.yaml:15:15: spec.template.spec.containers[0].name: "Web_1" is not a valid DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. "my-name")`],
      ],
      [
        'an image with two tags',
        w('image: nginx:1.27', 'image: redis:alpine:7'),
        ['app.yaml:16:16: spec.template.spec.containers[0].image: invalid image reference "redis:alpine:7": more than one tag (":alpine:7"); a reference is name[:tag][@digest], e.g. "redis:7-alpine"'],
      ],
      ['no image', w('        image: nginx:1.27\n', '        imagePullPolicy: Always\n'), ['app.yaml:15:9: spec.template.spec.containers[0]: missing required field `image`']],
      ['an empty image', w('        image: nginx:1.27\n', '        image:\n'), ['app.yaml:16:15: spec.template.spec.containers[0].image: must have a value']],
      ['a duplicate container name', d('      - name: web', '        image: busybox'), ['app.yaml:17:15: spec.template.spec.containers[1].name: duplicate container name "web"']],
    ])('rejects %s', (_, text, expected) => {
      expect(errorsOf(text)).toEqual(expected);
    });

    it('rejects a hostPort used twice in a pod, but not on another protocol', () => {
      const web = '        ports: [{containerPort: 80, hostPort: 8080}]';
      expect(errorsOf(d(web, '      - name: side', '        image: busybox', '        ports: [{containerPort: 81, hostPort: 8080}]'))).toEqual([
        'app.yaml:20:47: spec.template.spec.containers[1].ports[0].hostPort: hostPort 8080/TCP is already used in this pod by container "web"',
      ]);
      expect(errorsOf(d(web, '      - name: side', '        image: busybox', '        ports: [{containerPort: 81, hostPort: 8080, protocol: UDP}]'))).toEqual([]);
    });
  });

  it('accepts what only restricts a container, and the service account fields, keeping them', () => {
    const text = d(
      '        securityContext: {runAsUser: 1000, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: {drop: [ALL]}}',
      '      securityContext: {runAsUser: 10, runAsGroup: 20, runAsNonRoot: true}',
      '      serviceAccountName: web',
      '      automountServiceAccountToken: false',
    );
    const { objects, errors } = parseFiles([{ path: 'app.yaml', text }]);
    expect(errors.map(formatError)).toEqual([]);
    const spec = objects[0]?.kind === 'Deployment' ? objects[0].spec.template : undefined;
    expect(spec).toMatchObject({
      securityContext: { runAsUser: 10, runAsGroup: 20, runAsNonRoot: true },
      serviceAccountName: 'web',
      automountServiceAccountToken: false,
      containers: [{ securityContext: { runAsUser: 1000, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } } }],
    });
  });

  it('accepts what only the node\'s operator may allow (the agent runs it only with --allow), keeping it', () => {
    const text = d(
      '        securityContext: {privileged: true, capabilities: {add: [NET_ADMIN], drop: [NET_RAW]}, seccompProfile: {type: Unconfined}}',
      '      securityContext: {fsGroup: 2000, supplementalGroups: [3000, 3001], seccompProfile: {type: RuntimeDefault}}',
      '      hostNetwork: true',
      '      hostPID: true',
      '      hostIPC: false',
    );
    const { objects, errors } = parseFiles([{ path: 'app.yaml', text }]);
    expect(errors.map(formatError)).toEqual([]);
    const spec = objects[0]?.kind === 'Deployment' ? objects[0].spec.template : undefined;
    expect(spec).toMatchObject({
      securityContext: { fsGroup: 2000, supplementalGroups: [3000, 3001], seccompProfile: { type: 'RuntimeDefault' } },
      hostNetwork: true,
      hostPID: true,
      hostIPC: false,
      containers: [{ securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'], drop: ['NET_RAW'] }, seccompProfile: { type: 'Unconfined' } } }],
    });
  });

  it.each(['OnRootMismatch', 'Always'])('accepts fsGroupChangePolicy %s beside fsGroup, keeping it', (policy) => {
    const { objects, errors } = parseFiles([{ path: 'app.yaml', text: d(`      securityContext: {fsGroup: 2000, fsGroupChangePolicy: ${policy}}`) }]);
    expect(errors.map(formatError)).toEqual([]);
    const spec = objects[0]?.kind === 'Deployment' ? objects[0].spec.template : undefined;
    expect(spec?.securityContext).toEqual({ fsGroup: 2000, fsGroupChangePolicy: policy });
  });

  it.each([
    ['secrets', 'secrets: [{name: x}]', 'app.yaml:4:1: secrets: a Kubernetes field berth does not support (berth mounts no service account token); remove it'],
    ['imagePullSecrets', 'imagePullSecrets: [{name: x}]', "app.yaml:4:1: imagePullSecrets: a Kubernetes field berth does not support (registry credentials belong to the Docker configuration of the nodes, not to a Secret of the repository); remove it"],
    ['a quoted boolean', 'automountServiceAccountToken: "false"', 'app.yaml:4:31: automountServiceAccountToken: must be true or false, not the string "false"; remove the quotes'],
  ])('a ServiceAccount with %s is refused at its line', (_what, line, error) => {
    expect(errorsOf(`apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n${line}\n`)).toEqual([error]);
  });

  describe('pod spec', () => {
    it.each([
      ['serviceAccount, the old name', d('      serviceAccount: default'), ['app.yaml:17:7: spec.template.spec.serviceAccount: a Kubernetes field berth does not support (it is the old name of `serviceAccountName`; write that); remove it']],
      ['a serviceAccountName that is no name', d('      serviceAccountName: Default_SA'), [expect.stringMatching(/^app\.yaml:17:27: spec\.template\.spec\.serviceAccountName: /) as unknown as string]],
      ['sysctls (operator policy)', d('      securityContext: {sysctls: []}'), [`app.yaml:17:25: spec.template.spec.securityContext.sysctls: ${PRIVILEGE}`]],
      ['shareProcessNamespace (never from a repository)', d('      shareProcessNamespace: true'), [`app.yaml:17:7: spec.template.spec.shareProcessNamespace: ${PRIVILEGE}`]],
      ['a Localhost seccomp profile (it names a file on the node)', d('      securityContext: {seccompProfile: {type: Localhost, localhostProfile: x.json}}'), ['app.yaml:17:48: spec.template.spec.securityContext.seccompProfile.type: must be one of RuntimeDefault, Unconfined, not "Localhost"', `app.yaml:17:59: spec.template.spec.securityContext.seccompProfile.localhostProfile: ${NOT_YET} (containers run with Docker's default seccomp profile or, where the operator allows it, none); remove it`]],
      ['an fsGroupChangePolicy Kubernetes does not know', d('      securityContext: {fsGroupChangePolicy: OnMismatch}'), ['app.yaml:17:46: spec.template.spec.securityContext.fsGroupChangePolicy: must be one of OnRootMismatch, Always, not "OnMismatch"']],
      ['a supplemental group that is no id', d('      securityContext: {supplementalGroups: [-5]}'), ['app.yaml:17:46: spec.template.spec.securityContext.supplementalGroups[0]: must be at least 0, not -5']],
      ['restartPolicy Never', d('      restartPolicy: Never'), ['app.yaml:17:22: spec.template.spec.restartPolicy: must be Always in a Deployment (as in Kubernetes): its pods are kept running; Never is for Jobs']],
      ['an nfs volume (operator policy)', d('      volumes: [{name: h, nfs: {server: x, path: /}}]'), [`app.yaml:17:27: spec.template.spec.volumes[0].nfs: ${PRIVILEGE}`]],
      [
        'nodeName',
        d('      nodeName: n1'),
        ["app.yaml:17:7: spec.template.spec.nodeName: a Kubernetes field berth does not support (berth's scheduler places every pod; to pin pods, use `nodeSelector` with the node's labels); remove it"],
      ],
      ['a nodeSelector number', d('      nodeSelector: {disk: 1}'), ['app.yaml:17:28: spec.template.spec.nodeSelector.disk: must be a string, not the number 1; quote it: "1"']],
      ['no containers', w('      containers:\n      - name: web\n        image: nginx:1.27\n', '      containers: []\n'), ['app.yaml:14:19: spec.template.spec.containers: must have at least 1 item']],
      ['a template name', w('    metadata:\n      labels:', '    metadata:\n      name: x\n      labels:'), ['app.yaml:11:7: spec.template.metadata.name: not used in a pod template: berth names pods after their Deployment; remove it']],
    ])('rejects %s', (_, text, expected) => {
      expect(errorsOf(text)).toEqual(expected);
    });
  });

  describe('deployment spec', () => {
    it.each([
      ['a typo, with a suggestion', d('  replcas: 3'), ['app.yaml:17:3: spec.replcas: unknown field; did you mean `replicas`?']],
      ['a field that is not near any', d('  foo: 3'), ['app.yaml:17:3: spec.foo: unknown field (supported here: replicas, selector, strategy, template, minReadySeconds, progressDeadlineSeconds, revisionHistoryLimit)']],
      ['negative replicas', d('  replicas: -1'), ['app.yaml:17:13: spec.replicas: must be at least 0, not -1']],
      ['quoted replicas', d('  replicas: "3"'), ['app.yaml:17:13: spec.replicas: must be an integer, not the string "3"; remove the quotes']],
      ['fractional replicas', d('  replicas: 1.5'), ['app.yaml:17:13: spec.replicas: must be an integer, not the number 1.5']],
      ['rollingUpdate with Recreate', d('  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}'), ['app.yaml:17:45: spec.strategy.rollingUpdate: must not be set when `type` is Recreate']],
      [
        'maxSurge and maxUnavailable both 0',
        d('  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0%}}'),
        ['app.yaml:17:59: spec.strategy.rollingUpdate.maxUnavailable: must not be 0 when maxSurge is 0: the rollout could never replace a pod'],
      ],
      ['maxUnavailable above 100%', d('  strategy: {rollingUpdate: {maxUnavailable: 150%}}'), ['app.yaml:17:46: spec.strategy.rollingUpdate.maxUnavailable: must not be more than 100%']],
      [
        'a quoted maxSurge number',
        d('  strategy: {rollingUpdate: {maxSurge: "1"}}'),
        ['app.yaml:17:40: spec.strategy.rollingUpdate.maxSurge: must be a number of pods (e.g. 1) or a percentage of replicas (e.g. "25%"), not the string "1"'],
      ],
      ['a mis-cased strategy type', d('  strategy: {type: rollingupdate}'), ['app.yaml:17:20: spec.strategy.type: must be one of RollingUpdate, Recreate, not "rollingupdate"; did you mean RollingUpdate?']],
      ['paused', d('  paused: true'), ['app.yaml:17:3: spec.paused: a Kubernetes field berth does not support (to stop a rollout, revert or change the commit); remove it']],
      ['a YAML merge key', d('  <<: {replicas: 2}'), ['app.yaml:17:3: spec["<<"]: YAML merge keys are not supported; write the fields out']],
      [
        'a selector that does not match',
        w('    matchLabels:\n      app: web', '    matchLabels:\n      app: api'),
        [`app.yaml:8:12: spec.selector.matchLabels.app: "api" does not match the pod template's label app: "web"; the selector must match spec.template.metadata.labels`],
      ],
      [
        'a selector label the template lacks',
        w('    matchLabels:\n      app: web', '    matchLabels: {app: web, tier: db}'),
        ['app.yaml:7:35: spec.selector.matchLabels.tier: the pod template has no label "tier"; add `tier: db` to spec.template.metadata.labels'],
      ],
      ['an empty selector', w('    matchLabels:\n      app: web', '    matchLabels: {}\n'), ["app.yaml:7:5: spec.selector: must have `matchLabels`: they select this Deployment's pods (e.g. `app: web`)"]],
      [
        'matchExpressions',
        w('    matchLabels:\n      app: web', '    matchExpressions: []\n'),
        [
          'app.yaml:7:5: spec.selector.matchExpressions: a Kubernetes field berth does not support (a Deployment selects its pods by `matchLabels` only); remove it',
        ],
      ],
      ['no selector', w('  selector:\n    matchLabels:\n      app: web\n', '\n\n\n'), ['app.yaml:9:3: spec: missing required field `selector`']],
    ])('rejects %s', (_, text, expected) => {
      expect(errorsOf(text)).toEqual(expected);
    });
  });

  describe('initContainers', () => {
    const init = (...lines: string[]): string => d('      initContainers:', '      - name: setup', '        image: busybox:1.36', ...lines);
    it('accepts init containers, validated like containers', () => {
      expect(errorsOf(init('        command: [sh, -c, "echo ready > /tmp/x"]'))).toEqual([]);
    });
    it.each([
      ['a readinessProbe', init('        readinessProbe: {exec: {command: ["true"]}}'), ['app.yaml:20:25: spec.template.spec.initContainers[0].readinessProbe: an init container may not have readinessProbe (as in Kubernetes): it runs once to completion before the pod\'s containers start']],
      ['a livenessProbe', init('        livenessProbe: {tcpSocket: {port: 80}}'), ['app.yaml:20:24: spec.template.spec.initContainers[0].livenessProbe: an init container may not have livenessProbe (as in Kubernetes): it runs once to completion before the pod\'s containers start']],
      ['a startupProbe', init('        startupProbe: {tcpSocket: {port: 80}}'), ['app.yaml:20:23: spec.template.spec.initContainers[0].startupProbe: an init container may not have startupProbe (as in Kubernetes): it runs once to completion before the pod\'s containers start']],
      ['lifecycle', init('        lifecycle: {preStop: {exec: {command: ["true"]}}}'), ['app.yaml:20:20: spec.template.spec.initContainers[0].lifecycle: an init container may not have lifecycle (as in Kubernetes): it runs once to completion before the pod\'s containers start']],
      ['a container field it lacks', init('        imag: x'), ['app.yaml:20:9: spec.template.spec.initContainers[0].imag: unknown field; did you mean `image`?']],
      ['the name of a container', d('      initContainers:', '      - name: web', '        image: busybox:1.36'), ['app.yaml:15:15: spec.template.spec.containers[0].name: duplicate container name "web" (an init container has it)']],
      ['two init containers of one name', init('      - name: setup', '        image: busybox:1.36'), ['app.yaml:20:15: spec.template.spec.initContainers[1].name: duplicate container name "setup"']],
    ])('refuses %s', (_name, text, want) => {
      expect(errorsOf(text)).toEqual(want);
    });
  });

  describe('document and metadata', () => {
    it.each([
      ['a status', d('status: {replicas: 3}'), ['app.yaml:17:9: status: set by the cluster, not by the repository; remove it']],
      [
        'a bad name',
        w('  name: web', '  name: Web'),
        [`app.yaml:4:9: metadata.name: "Web" is not a valid DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. "example.com")`],
      ],
      [
        'a bad namespace',
        w('  name: web', '  name: web\n  namespace: My_NS'),
        [`app.yaml:5:14: metadata.namespace: "My_NS" is not a valid DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. "my-name")`],
      ],
      ['a uid', w('  name: web', '  name: web\n  uid: abc'), ['app.yaml:5:3: metadata.uid: set by the cluster, not by the repository; remove it']],
      ['a creationTimestamp', w('  name: web', '  name: web\n  creationTimestamp: "2024-01-01T00:00:00Z"'), ['app.yaml:5:22: metadata.creationTimestamp: set by the cluster, not by the repository; remove it']],
      [
        'generateName',
        w('  name: web', '  generateName: web-'),
        [
          'app.yaml:4:3: metadata.generateName: a Kubernetes field berth does not support (berth needs a fixed `name` to track the object across commits); remove it',
          'app.yaml:4:3: metadata: missing required field `name`',
        ],
      ],
      ['a wrong apiVersion', w('apps/v1', 'extensions/v1beta1'), ['app.yaml:1:13: apiVersion: "extensions/v1beta1" is not supported for Deployment; use apps/v1']],
      ['a label key that is not a string', w('        app: web', '        app: web\n        1: x'), ['app.yaml:13:9: spec.template.metadata.labels: keys must be strings, not the number 1']],
      ['an unquoted boolean label', w('        app: web', '        app: true'), ['app.yaml:12:14: spec.template.metadata.labels.app: must be a string, not the boolean true; quote it: "true"']],
      ['an empty label', w('        app: web', '        app:'), ['app.yaml:12:13: spec.template.metadata.labels.app: must be a string, not null; write "" for an empty string']],
      [
        'a bad label key',
        w('        app: web', '        app: web\n        "-bad": x'),
        [
          `app.yaml:13:9: spec.template.metadata.labels["-bad"]: "-bad" is not a valid key: the name must be at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (e.g. "app.kubernetes.io/name")`,
        ],
      ],
      ['an annotation that is not a string', w('  name: web', '  name: web\n  annotations: {replicas: 3}'), ['app.yaml:5:27: metadata.annotations.replicas: must be a string, not the number 3; quote it: "3"']],
      ['an alias without anchor', w('        app: web', '        app: *nope'), ['app.yaml:12:14: spec.template.metadata.labels.app: alias *nope has no anchor &nope before it']],
      ['an alias that contains itself', d('        command: &c [*c]'), ['app.yaml:17:21: spec.template.spec.containers[0].command[0]: must be a string, not a list']],
    ])('rejects %s', (_, text, expected) => {
      expect(errorsOf(text)).toEqual(expected);
    });
  });
});

describe('documents of any kind', () => {
  it.each([
    [
      'an unsupported kind',
      'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: web\n',
      ["app.yaml:2:7: kind PersistentVolumeClaim is not supported by berth (supported: Deployment, ConfigMap, Secret, Service, ServiceAccount); remove it, or skip the kind on purpose with --skip-kind PersistentVolumeClaim"],
    ],
    ['no kind', 'apiVersion: v1\nmetadata:\n  name: web\n', ['app.yaml:1:1: missing required field `kind` (supported: Deployment, ConfigMap, Secret, Service, ServiceAccount)']],
    ['a kind that is not a string', 'apiVersion: v1\nkind: 3\n', ['app.yaml:2:7: kind: must be a string, not the number 3']],
    ['a list', '- a\n- b\n', ['app.yaml:1:1: a manifest must be a map with apiVersion, kind and metadata, not a list']],
    ['a plain string', 'hello\n', ['app.yaml:1:1: a manifest must be a map with apiVersion, kind and metadata, not the string "hello"']],
    ['a YAML syntax error', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n', ['app.yaml:4:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }']],
    ['tab indentation', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n', ['app.yaml:4:1: invalid YAML: Tabs are not allowed as indentation']],
    ['a duplicate key', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n', ['app.yaml:5:3: invalid YAML: Map keys must be unique']],
    ['an unknown tag', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: !foo x\n', ['app.yaml:4:9: invalid YAML: Unresolved tag: !foo']],
  ])('rejects %s', (_, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });
});

describe('ConfigMap validation', () => {
  const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n';
  it.each([
    ['an unquoted number', `${CM}data:\n  port: 8080\n`, ['app.yaml:6:9: data.port: must be a string, not the number 8080; quote it: "8080"']],
    ['binaryData', `${CM}binaryData:\n  a: AA==\n`, [`app.yaml:5:1: binaryData: ${NOT_YET} (put text under \`data\`); remove it`]],
    ['a bad key', `${CM}data:\n  "a b": x\n`, [`app.yaml:6:3: data["a b"]: "a b" is not a valid ConfigMap key: at most 253 letters, digits, '-', '_' and '.' (e.g. "app.properties")`]],
    ['a wrong apiVersion', CM.replace('v1', 'apps/v1'), ['app.yaml:1:13: apiVersion: "apps/v1" is not supported for ConfigMap; use v1']],
    ['a spec', `${CM}spec: {}\n`, ['app.yaml:5:1: spec: unknown field (supported here: apiVersion, kind, metadata, data)']],
    ['no metadata', 'apiVersion: v1\nkind: ConfigMap\n', ['app.yaml:1:1: missing required field `metadata`']],
  ])('rejects %s', (_, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  it('rejects more than 1 MiB of data (in a file allowed to be larger)', () => {
    const text = `${CM}data:\n  a: ${'x'.repeat(1024 * 1024)}\n`;
    const { errors } = parseFiles([{ path: 'app.yaml', text }], { limits: { fileBytes: 2 * 1024 * 1024 } });
    expect(errors.map(formatError)).toEqual(['app.yaml:6:3: data: is 1048577 bytes; a ConfigMap holds at most 1 MiB (1048576 bytes)']);
  });
});
