#!/usr/bin/env bash
# npm run demo: from a fresh machine with Node to the examples running under berth.
# Installs what is missing, starts dockerd if none answers, builds the demo image locally (no registry
# needed), then runs `berth up` on examples/repo of this checkout and tells you how to change it.
# Root is needed only to install packages or start dockerd: a user in the docker group, with Docker
# running, needs neither. BERTH_DEMO_NODE names the demo's node (default demo), e.g. to run a second
# demo beside the first (give its web a free hostPort too, and BERTH_DEMO_LISTEN a free port for its
# API server, default 127.0.0.1:7420).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
DOCKER_HOST=$(bash scripts/start-dockerd.sh "$root/.berth")
export DOCKER_HOST
bash scripts/build-image.sh berth-demo/busybox:1 >/dev/null
bash scripts/build-image.sh --sandbox berth/sandbox:1 >/dev/null
npm run --silent build

# berth follows a Git branch: this checkout's own, with the manifests under examples/repo.
# Outside a Git checkout (an unpacked tarball), make examples/repo a repository of its own.
if branch=$(git -C "$root" symbolic-ref --short HEAD 2>/dev/null); then
  repo="$root"; path="examples/repo"
else
  repo="$root/.berth/demo-repo"; path="."; branch=main
  if [ ! -d "$repo/.git" ]; then
    mkdir -p "$repo" && cp -r examples/repo/. "$repo/"
    git -C "$repo" init -q -b main && git -C "$repo" add -A
    git -C "$repo" -c user.name=berth -c user.email=berth@localhost commit -qm "demo manifests"
  fi
fi
node=${BERTH_DEMO_NODE:-demo}

(
  # Tell the user what runs once it does.
  for _ in $(seq 1 120); do
    # The pods' own containers (their sandboxes carry no berth.container label).
    if [ "$(docker ps -q --filter label=berth.node=$node --filter label=berth.container | wc -l)" -ge 3 ]; then break; fi
    sleep 0.5
  done
  echo
  echo "== berth is running examples/repo (branch $branch of $repo) =="
  docker ps --filter label=berth.node=$node --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
  echo
  node dist/cli/main.js get pods --data-dir "$root/.berth"
  echo
  echo "  curl http://127.0.0.1:8080/          # the web deployment's page"
  echo "  edit examples/repo/worker.yaml (replicas: 3), then: git commit -am 'scale workers' — the containers follow"
  echo "  node dist/cli/main.js get pods | status | history   # berth's view (in another terminal)"
  echo "  curl http://${BERTH_DEMO_LISTEN:-127.0.0.1:7420}/api/v1/sources   # the same, as JSON from berth's API"
  echo "  git log --notes=berth -3 -- examples/repo     # what happened to each commit: berth/sync, berth/health"
  echo "  docker ps --filter label=berth.node=$node   # Docker's view;  Ctrl-C stops berth (containers keep running)"
  echo
) &

exec bin/berth up --repo "$repo" --branch "$branch" --path "$path" --node "$node" \
  --host-ip 127.0.0.1 --interval 10s --data-dir "$root/.berth" --listen "${BERTH_DEMO_LISTEN:-127.0.0.1:7420}"
