#!/usr/bin/env bash
# Install what berth's tests and demo need, skipping what is already there:
# Debian packages (etcd, Docker, static busybox, git, iproute2, docker-registry,
# apache2-utils, docker-compose), then npm
# packages when node_modules is missing or does not match package-lock.json.
# Idempotent. As root it installs; otherwise it prints the sudo command to run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What each Debian package provides. A package counts as present when its
# commands are, however they were installed (e.g. docker-ce instead of docker.io,
# which would conflict with it). Docker counts as present with the docker command
# alone when an engine already answers: dockerd is needed only to start one.
packages=(etcd-server etcd-client docker.io busybox-static git iproute2 docker-registry apache2-utils docker-compose chromium)
declare -A commands=(
  [etcd-server]=etcd
  [etcd-client]=etcdctl
  [git]=git
  [docker-registry]=docker-registry # tests that pull run one on loopback (test/support/registry.ts)
  [iproute2]=ip # the test harness gives its private dockerd a bridge of its own with `ip`
  [apache2-utils]=htpasswd # the registry that asks for credentials (test/support/registry.ts) takes bcrypt htpasswd
  [docker-compose]=docker-compose # the agent bench's peer: `docker-compose up -d` of the same 50 containers
  [chromium]=chromium # the dashboard's test drives it with puppeteer-core (test/e2e/dashboard.test.ts)
)
# dockerd and ip live in the sbin directories, which a user's PATH lacks.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

engine_answers() { # at DOCKER_HOST or /var/run/docker.sock
  local host
  for host in ${DOCKER_HOST:-} unix:///var/run/docker.sock; do
    timeout 5 docker -H "$host" version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
  done
  return 1
}

present() {
  local pkg=$1 cmd
  if [[ $pkg == docker.io ]]; then
    command -v docker >/dev/null || return 1
    command -v dockerd >/dev/null || engine_answers
    return
  fi
  if [[ $pkg == busybox-static ]]; then
    # The test image copies /bin/busybox into an empty rootfs: it must be static.
    [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1
    return
  fi
  for cmd in ${commands[$pkg]}; do command -v "$cmd" >/dev/null || return 1; done
}

missing=()
for pkg in "${packages[@]}"; do
  present "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})) && ! command -v apt-get >/dev/null; then
  echo "install-deps: missing: ${missing[*]} (no apt-get here: install their equivalents with your package manager)" >&2
  exit 1
fi
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may be running unattended-upgrades: wait for the dpkg lock instead of failing.
  apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  apt-get "${apt_opts[@]}" update -q
  apt-get "${apt_opts[@]}" install -y -q "${missing[@]}"
else
  echo "install-deps: Debian packages present"
fi

# npm: node_modules/.package-lock.json is npm's record of what is installed.
# Stale when an installed package differs from the lockfile or a required
# (non-optional) one is absent; optional ones for other platforms never install.
if [[ ! -f node_modules/.package-lock.json ]] || ! node -e '
  const want = require("./package-lock.json").packages ?? {};
  const have = require("./node_modules/.package-lock.json").packages ?? {};
  const same = (a, b) => a.version === b.version && a.integrity === b.integrity && a.resolved === b.resolved;
  for (const [path, entry] of Object.entries(want)) {
    if (path === "" || path.startsWith("node_modules/") === false) continue;
    if (have[path] ? !same(entry, have[path]) : !entry.optional) process.exit(1);
  }
  for (const path of Object.keys(have)) if (!(path in want)) process.exit(1);
'; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund
else
  echo "install-deps: node_modules up to date"
fi
