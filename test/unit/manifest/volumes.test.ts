import { describe, expect, it } from 'vitest';
import { deployment as d, errorsOf } from './manifests.js';
import { parseFiles, type DeploymentObject } from '../../../src/manifest/index.js';

const P = 'spec.template.spec';
const C = `${P}.containers[0]`;
const cfg = '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a.conf: "x", b.conf: "y"}\n';
const mount = (m: string): string => `        volumeMounts: [${m}]`;
const volumes = (v: string): string => `      volumes: [${v}]`;
const I = `${P}.initContainers[0]`;
const init = (m: string): string => `      initContainers: [{name: init, image: busybox, volumeMounts: [${m}]}]`;

describe('volumes and volumeMounts', () => {
  it.each([
    ['a whole ConfigMap, read-only', [mount('{name: c, mountPath: /etc/app}'), volumes('{name: c, configMap: {name: cfg, defaultMode: 0400}}')], cfg],
    ['ConfigMap items with paths and modes', [mount('{name: c, mountPath: /etc/app, readOnly: true}'), volumes('{name: c, configMap: {name: cfg, items: [{key: a.conf, path: conf/a.conf, mode: 0600}]}}')], cfg],
    ['an optional missing ConfigMap', [mount('{name: c, mountPath: /etc/app}'), volumes('{name: c, configMap: {name: gone, optional: true, items: [{key: k, path: k}]}}')], ''],
    ['an emptyDir with a subPath', [mount('{name: s, mountPath: /cache, subPath: a/b}'), volumes('{name: s, emptyDir: {}}')], ''],
    ['a hostPath (its node must allow it: berth agent --allow hostPath)', [mount('{name: h, mountPath: /host, readOnly: true}'), volumes('{name: h, hostPath: {path: /var/log, type: Directory}}')], ''],
    ['an init container\'s mount (mounted like its containers\')', [init('{name: s, mountPath: /seed, subPath: a}'), volumes('{name: s, emptyDir: {}}')], ''],
    ['a Memory emptyDir with a size', [mount('{name: m, mountPath: /run/app}'), volumes('{name: m, emptyDir: {medium: Memory, sizeLimit: 64Mi}}')], ''],
  ])('accepts %s', (_, lines, extra) => {
    expect(errorsOf(d(...lines) + extra)).toEqual([]);
  });

  it('keeps them in the pod template, normalized', () => {
    const r = parseFiles([{ path: 'a.yaml', text: d(mount('{name: m, mountPath: /run/app}'), volumes('{name: m, emptyDir: {medium: Memory, sizeLimit: 64Mi}}, {name: e, emptyDir: {medium: ""}}')) }]);
    const t = (r.objects[0] as DeploymentObject).spec.template;
    expect(t.volumes).toEqual([{ name: 'm', emptyDir: { medium: 'Memory', sizeLimit: 64 * 1024 * 1024 } }, { name: 'e', emptyDir: {} }]);
    expect(t.containers[0]?.volumeMounts).toEqual([{ name: 'm', mountPath: '/run/app' }]);
  });

  it.each([
    ['0644', 0o644],
    ['0o600', 0o600],
    ['420', 420],
    ['0', 0],
  ])('reads the mode %s as Kubernetes does (%i)', (text, mode) => {
    const r = parseFiles([{ path: 'a.yaml', text: d(volumes(`{name: c, configMap: {name: cfg, defaultMode: ${text}}}`)) + cfg }]);
    const v = (r.objects.find((o) => o.kind === 'Deployment') as DeploymentObject).spec.template.volumes?.[0];
    expect(v && 'configMap' in v && v.configMap.defaultMode).toBe(mode);
  });

  it.each([
    ['a relative hostPath', [volumes('{name: h, hostPath: {path: var/log}}')], `app.yaml:17:44: ${P}.volumes[0].hostPath.path: "var/log" must be an absolute path on the node (e.g. "/var/log")`],
    ['an unknown hostPath type', [volumes('{name: h, hostPath: {path: /x, type: Dir}}')], `app.yaml:17:54: ${P}.volumes[0].hostPath.type: must be one of , DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice, not "Dir"`],
    ['a PVC', [volumes('{name: p, persistentVolumeClaim: {claimName: x}}')], `app.yaml:17:27: ${P}.volumes[0].persistentVolumeClaim: a Kubernetes field berth does not support yet (persistent volumes come later; use an emptyDir for scratch space); remove it`],
    ['a Secret volume of a Secret not in the commit', [volumes('{name: s, secret: {secretName: x}}')], `app.yaml:17:48: ${P}.volumes[0].secret.secretName: no Secret "x" in namespace "default" in this commit; add it, or set \`optional: true\``],
    ['a volume with no source', [volumes('{name: v}')], `app.yaml:17:17: ${P}.volumes[0]: must have one of configMap, secret, emptyDir, hostPath`],
    ['a volume with two sources', [volumes('{name: v, emptyDir: {}, configMap: {name: cfg}}')], `app.yaml:17:17: ${P}.volumes[0]: must have only one of configMap, secret, emptyDir, hostPath, not configMap and emptyDir`],
    ['an absolute item path', [volumes('{name: c, configMap: {name: cfg, items: [{key: a.conf, path: /etc/passwd}]}}')], `app.yaml:17:78: ${P}.volumes[0].configMap.items[0].path: "/etc/passwd" must be a relative path inside the volume, not an absolute one`],
    ['an item path with ..', [volumes('{name: c, configMap: {name: cfg, items: [{key: a.conf, path: a/../../x}]}}')], `app.yaml:17:78: ${P}.volumes[0].configMap.items[0].path: "a/../../x" must not contain '..': a path must stay inside the volume`],
    ['an item path the writer keeps', [volumes('{name: c, configMap: {name: cfg, items: [{key: a.conf, path: ..data}]}}')], `app.yaml:17:78: ${P}.volumes[0].configMap.items[0].path: "..data" must not start with '..'`],
    ['two items at one path', [volumes('{name: c, configMap: {name: cfg, items: [{key: a.conf, path: x}, {key: b.conf, path: x}]}}')], `app.yaml:17:102: ${P}.volumes[0].configMap.items[1].path: duplicate path "x" in this volume`],
    ['a mode above 0777', [volumes('{name: c, configMap: {name: cfg, defaultMode: 01777}}')], `app.yaml:17:63: ${P}.volumes[0].configMap.defaultMode: must be a file mode from 0 to 0777 (octal, e.g. 0644, or decimal, e.g. 420), not the number 01777`],
    ['a missing ConfigMap', [volumes('{name: c, configMap: {name: gone, items: [{key: k, path: k}]}}')], `app.yaml:17:45: ${P}.volumes[0].configMap.name: no ConfigMap "gone" in namespace "default" in this commit; add it, or set \`optional: true\``],
    ['a missing key of an item', [volumes('{name: c, configMap: {name: cfg, items: [{key: nope, path: k}]}}')], `app.yaml:17:64: ${P}.volumes[0].configMap.items[0].key: ConfigMap "cfg" has no key "nope" (its keys: "a.conf", "b.conf"); add it, or set \`optional: true\``],
    ['a disk emptyDir with a sizeLimit', [volumes('{name: e, emptyDir: {sizeLimit: 1Gi}}')], `app.yaml:17:49: ${P}.volumes[0].emptyDir.sizeLimit: berth enforces sizeLimit only for \`medium: Memory\` (a tmpfs of that size); remove it, or set \`medium: Memory\``],
    ['an unknown medium', [volumes('{name: e, emptyDir: {medium: HugePages}}')], `app.yaml:17:46: ${P}.volumes[0].emptyDir.medium: must be one of , Memory, not "HugePages"`],
    ['two volumes of one name', [volumes('{name: e, emptyDir: {}}, {name: e, emptyDir: {}}')], `app.yaml:17:49: ${P}.volumes[1].name: duplicate volume name "e"`],
    ['a mount of no volume', [mount('{name: nope, mountPath: /x}'), volumes('{name: e, emptyDir: {}}')], `app.yaml:17:31: ${C}.volumeMounts[0].name: no volume named "nope" in this pod (it has "e")`],
    ['a relative mountPath', [mount('{name: e, mountPath: data}'), volumes('{name: e, emptyDir: {}}')], `app.yaml:17:45: ${C}.volumeMounts[0].mountPath: "data" must be an absolute path in the container (e.g. "/etc/app")`],
    ['a subPath out of the volume', [mount('{name: e, mountPath: /d, subPath: ../../etc}'), volumes('{name: e, emptyDir: {}}')], `app.yaml:17:58: ${C}.volumeMounts[0].subPath: "../../etc" must not contain '..': a path must stay inside the volume`],
    ['an absolute subPath', [mount('{name: e, mountPath: /d, subPath: /etc}'), volumes('{name: e, emptyDir: {}}')], `app.yaml:17:58: ${C}.volumeMounts[0].subPath: "/etc" must be a relative path inside the volume, not an absolute one`],
    ['a subPath of a Memory emptyDir', [mount('{name: m, mountPath: /d, subPath: x}'), volumes('{name: m, emptyDir: {medium: Memory}}')], `app.yaml:17:58: ${C}.volumeMounts[0].subPath: berth cannot mount a subPath of a \`medium: Memory\` emptyDir yet; mount the whole volume`],
    ['two mounts at one path', [mount('{name: e, mountPath: /d}, {name: e, mountPath: /d/}'), volumes('{name: e, emptyDir: {}}')], `app.yaml:17:71: ${C}.volumeMounts[1].mountPath: "/d/" is already mounted in this container`],
    ['an init container\'s mount of no volume', [init('{name: nope, mountPath: /x}'), volumes('{name: e, emptyDir: {}}')], `app.yaml:17:75: ${I}.volumeMounts[0].name: no volume named "nope" in this pod (it has "e")`],
    ['an init container\'s subPath of a Memory emptyDir', [init('{name: m, mountPath: /d, subPath: x}'), volumes('{name: m, emptyDir: {medium: Memory}}')], `app.yaml:17:102: ${I}.volumeMounts[0].subPath: berth cannot mount a subPath of a \`medium: Memory\` emptyDir yet; mount the whole volume`],
    ['two mounts of an init container at one path', [init('{name: e, mountPath: /d}, {name: e, mountPath: /d}'), volumes('{name: e, emptyDir: {}}')], `app.yaml:17:115: ${I}.volumeMounts[1].mountPath: "/d" is already mounted in this container`],
    ['mountPropagation (operator policy)', [mount('{name: e, mountPath: /d, mountPropagation: Bidirectional}'), volumes('{name: e, emptyDir: {}}')], `app.yaml:17:49: ${C}.volumeMounts[0].mountPropagation: a Kubernetes field berth never takes from a repository: a push must not widen what a container may do on its host, and berth runs every container without extra privileges, host namespaces or host mounts; remove it`],
  ])('rejects %s', (_, lines, expected) => {
    expect(errorsOf(d(...lines) + cfg)).toEqual([expected]);
  });
});
