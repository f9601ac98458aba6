#!/usr/bin/env bash
# Make sure a Docker engine is running and print the DOCKER_HOST to use:
#   export DOCKER_HOST=$(scripts/start-dockerd.sh [LOG_DIR])
# Uses the engine at DOCKER_HOST or /var/run/docker.sock if one answers (then
# neither root nor dockerd is needed: a user in the docker group will do);
# otherwise starts a long-lived dockerd (root; default data root
# /var/lib/docker, socket /var/run/docker.sock, docker0 bridge) in the
# background, logging to LOG_DIR/dockerd.log (default .berth/), and waits
# for it. Stop it with: kill "$(cat /var/run/docker.pid)".
# The tests do not need this: their globalSetup finds or starts an engine itself.
set -euo pipefail

log_dir=${1:-.berth}
socket=/var/run/docker.sock
deadline_seconds=${DOCKERD_START_TIMEOUT:-60}

answers() { # host → 0 when the engine there answers /_ping
  timeout 5 docker -H "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# An engine that already answers is used as it is: a user in the docker group needs neither root
# nor dockerd (which lives in /usr/sbin, off a normal user's PATH) to use it.
if ! command -v docker >/dev/null; then
  echo "start-dockerd: the docker command is not installed: run scripts/install-deps.sh" >&2
  exit 1
fi
if [[ -n ${DOCKER_HOST:-} ]] && answers "$DOCKER_HOST"; then
  echo "$DOCKER_HOST"
  exit 0
fi
if [[ -S $socket ]] && answers "unix://$socket"; then
  echo "unix://$socket"
  exit 0
fi
docker_host=${DOCKER_HOST:-}
for candidate in "${docker_host#unix://}" "$socket"; do
  if [[ -S $candidate && ! (-r $candidate && -w $candidate) ]]; then
    echo "start-dockerd: $(id -un) may not use the Docker engine at $candidate: sudo usermod -aG docker $(id -un), then log in again (or run as root)" >&2
    exit 1
  fi
done
if [[ $(id -u) -ne 0 ]]; then
  echo "start-dockerd: no Docker engine answers and starting dockerd needs root: sudo $0 $*" >&2
  exit 1
fi
# Only to start one: dockerd and what it runs (iptables, ip) live in the sbin directories.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
if ! command -v dockerd >/dev/null; then
  echo "start-dockerd: no Docker engine answers and dockerd is not installed: run scripts/install-deps.sh" >&2
  exit 1
fi

mkdir -p "$log_dir"
log=$(cd "$log_dir" && pwd)/dockerd.log
echo "start-dockerd: starting dockerd (log: $log)" >&2
# setsid + nohup: the daemon outlives this shell and its terminal.
setsid nohup dockerd --host "unix://$socket" >>"$log" 2>&1 </dev/null &
pid=$!

for ((i = 0; i < deadline_seconds * 10; i++)); do
  if answers "unix://$socket"; then
    echo "start-dockerd: dockerd $pid ready after ~$((i / 10))s" >&2
    echo "unix://$socket"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start-dockerd: dockerd exited; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "start-dockerd: dockerd did not answer within ${deadline_seconds}s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
