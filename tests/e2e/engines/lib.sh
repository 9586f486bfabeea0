# Sourced by the engine checks: `need CMD PACKAGE` installs Debian's PACKAGE when CMD is
# missing (root only), `test_image IMAGE` imports the rootfs of make_rootfs.sh into podman
# once, and `oci_workspace PREFIX` sets up the OCI checks' state. All use the caller's `fail`.
need() {
  command -v "$1" > /dev/null && return 0
  [ "$(id -u)" = 0 ] || fail "$1 is missing and only root can install it"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" > /dev/null 2>&1 \
    || { apt-get update -qq > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" > /dev/null 2>&1; } \
    || fail "cannot install $2"
}

test_image() {
  podman image exists "$1" && return 0
  local dir
  dir=$(mktemp -d)
  "$(dirname "${BASH_SOURCE[0]}")/make_rootfs.sh" "$dir/rootfs"
  tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
  podman import -q "$dir/rootfs.tar" "$1" > /dev/null || { rm -rf "$dir"; fail "podman import"; }
  rm -rf "$dir"
}

# oci_workspace PREFIX: $work (a new /tmp/PREFIX.* directory) and $root, the state root in it
# that `M` passes to $moat; at exit every container left there is deleted and $work removed.
oci_workspace() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  root=$work/state
  trap 'for id in $("$moat" --root "$root" list -q 2>/dev/null); do "$moat" --root "$root" delete --force "$id"; done; rm -rf "$work"' EXIT
}
M() { "$moat" --root "$root" "$@"; }
