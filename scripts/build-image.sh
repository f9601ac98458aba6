#!/usr/bin/env bash
# Build a tiny local image from the static busybox (no registry needed):
# /bin/busybox plus a relative symlink per applet, CMD ["/bin/sh"], PATH=/bin.
# Same steps as test/support/image.ts. Uses the docker CLI and DOCKER_HOST.
# --sandbox makes the pod sandbox image instead: CMD sleeps forever (it only holds the pod's network).
#   usage: scripts/build-image.sh [--force] [--sandbox] TAG      (e.g. berth-demo/busybox:1, --sandbox berth/sandbox:1)
set -euo pipefail

force=false
cmd='CMD ["/bin/sh"]'
while [[ ${1:-} == --* ]]; do
  case $1 in
    --force) force=true ;;
    --sandbox) cmd='CMD ["sleep", "2147483647"]' ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
tag=${1:?usage: scripts/build-image.sh [--force] [--sandbox] TAG}
busybox=/bin/busybox

if ! $force && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag already present"
  exit 0
fi
if [[ ! -x $busybox ]]; then
  echo "error: $busybox missing: run scripts/install-deps.sh (busybox-static)" >&2
  exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "error: $busybox is dynamically linked: install busybox-static" >&2
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/berth-image.XXXXXX")
trap 'rm -rf "$dir"' EXIT
rootfs=$dir/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
chmod 755 "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

tar -C "$rootfs" --owner=0 --group=0 --numeric-owner -c . |
  docker import -c "$cmd" -c 'ENV PATH=/bin' - "$tag" >/dev/null
echo "$tag built"
