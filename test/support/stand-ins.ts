// Stand-ins for the images of the real manifests in test/fixtures/compat: built locally from busybox
// (no registry is reachable), tagged with the manifests' own image names so the manifests run as
// they are. Each listens on the ports its image serves and carries the probe commands the manifests
// exec (podinfo's podcli, grpc_health_probe), answering as the real ones do when healthy.
import { createHash } from 'node:crypto';
import { dockerRequest } from './docker.js';
import { importBusyboxImage, type BusyboxImageSpec } from './image.js';

/** The label a stand-in carries: the hash of what it is made of, so a changed stand-in is built again. */
const LABEL = 'berth.stand-in';

const script = (text: string): { text: string; mode: number } => ({ text: `#!/bin/sh\n${text.trim()}\n`, mode: 0o755 });

/** Helpers every stand-in has: an HTTP listener and a check of an HTTP answer. */
const COMMON: BusyboxImageSpec['files'] = {
  // Every port answers / with "<name> <hostname>" (so a test sees which pod answered) and the health paths with ok.
  '/bin/stand-in-http': script(`
name=$1; shift
mkdir -p /tmp/www
echo "$name $(hostname)" > /tmp/www/index.html
for p in healthz readyz _healthz; do echo ok > /tmp/www/$p; done
first=$1; shift
for port in "$@"; do httpd -p "$port" -h /tmp/www; done
exec httpd -f -p "$first" -h /tmp/www
`),
  // http-ok HOST PORT PATH: succeeds when GET PATH answers 200 within 5 s (nc: busybox wget -T crashes).
  '/bin/http-ok': script(`
printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' "$3" "$1" | timeout 5 nc "$1" "$2" | head -n 1 | grep -q ' 200 '
`),
};

/** podinfo's probe client: `podcli check http HOST:PORT/PATH` succeeds on a 200. */
const PODCLI = script(`
[ "$1 $2" = "check http" ] || { echo "podcli stand-in: only 'check http' is here" >&2; exit 2; }
target=\${3#http://}
hostport=\${target%%/*}
path=/\${target#*/}
[ "$target" = "$hostport" ] && path=/
exec http-ok "\${hostport%:*}" "\${hostport##*:}" "$path"
`);

/** grpc_health_probe -addr=[HOST]:PORT: serving when the listener there answers. */
const GRPC_HEALTH_PROBE = script(`
addr=
for a in "$@"; do case $a in -addr=*) addr=\${a#-addr=};; esac; done
host=\${addr%:*}
exec http-ok "\${host:-127.0.0.1}" "\${addr##*:}" /healthz
`);

/** A stand-in; `realServes`: the real image, when an engine has it, answers the tests as the stand-in does. */
interface StandIn extends BusyboxImageSpec {
  realServes?: boolean;
}

/**
 * The stand-ins by image name. `redis:alpine` is the image of upstream microservices-demo's
 * redis.yaml: the fork's `…/redis:alpine:v0.3.6` is no reference at all (berth refuses it), so the
 * running test corrects that one line to upstream's value.
 */
export const STAND_INS: Record<string, StandIn> = {
  'ghcr.io/stefanprodan/podinfo:6.1.1': {
    workdir: '/home/app',
    cmd: ['./podinfo'],
    files: {
      '/home/app/podinfo': script(`
port=9898; metrics=9797; grpc=9999
for a in "$@"; do case $a in --port=*) port=\${a#*=};; --port-metrics=*) metrics=\${a#*=};; --grpc-port=*) grpc=\${a#*=};; esac; done
exec stand-in-http podinfo "$port" "$metrics" "$grpc"
`),
      '/bin/podcli': PODCLI,
    },
  },
  'gcr.io/google-samples/microservices-demo/cartservice:v0.3.6': {
    cmd: ['/app/cartservice'],
    files: { '/app/cartservice': script('exec stand-in-http cartservice 7070'), '/bin/grpc_health_probe': GRPC_HEALTH_PROBE },
  },
  // A redis answers its first command with +PONG, as to PING.
  'redis:alpine': {
    realServes: true,
    cmd: ['redis-server'],
    files: { '/bin/redis-server': script('exec nc -ll -p 6379 -e /bin/redis-pong'), '/bin/redis-pong': script("read -r line; printf '+PONG\\r\\n'") },
  },
  frontend: { cmd: ['/src/server'], files: { '/src/server': script('exec stand-in-http frontend "${PORT:-8080}"') } },
  'gcr.io/google-samples/gb-frontend:v4': { cmd: ['stand-in-http', 'guestbook-frontend', '80'] },
  'gcr.io/heptio-images/ks-guestbook-demo:0.2': { cmd: ['stand-in-http', 'guestbook-ui', '80'] },
};

/**
 * Make sure each stand-in is on the engine as it is written here (built again when changed). An
 * image of that name that is not a stand-in (the real one, pulled by someone) is left alone: used
 * when it answers as the stand-in would (redis), else refused.
 */
export async function ensureStandIns(dockerHost: string, names: readonly string[] = Object.keys(STAND_INS)): Promise<void> {
  for (const tag of names) {
    const spec = STAND_INS[tag];
    if (spec === undefined) throw new Error(`no stand-in for ${tag}`);
    const files = { ...COMMON, ...spec.files };
    const hash = createHash('sha256').update(JSON.stringify([spec.cmd, spec.workdir, files])).digest('hex').slice(0, 16);
    const existing = await dockerRequest(dockerHost, 'GET', `/images/${tag}/json`);
    if (existing.status === 200) {
      const labels = (JSON.parse(existing.body) as { Config?: { Labels?: Record<string, string> | null } }).Config?.Labels ?? {};
      if (labels[LABEL] === hash) continue;
      if (labels[LABEL] === undefined && spec.realServes === true) continue;
      if (labels[LABEL] === undefined) throw new Error(`${tag} on this engine is not berth's stand-in; remove it (docker rmi ${tag}) to run the compat tests`);
    } else if (existing.status !== 404) {
      throw new Error(`docker image inspect ${tag}: ${existing.status} ${existing.body}`);
    }
    await importBusyboxImage(dockerHost, tag, { cmd: spec.cmd, files, ...(spec.workdir === undefined ? {} : { workdir: spec.workdir }), labels: { [LABEL]: hash } });
  }
}
