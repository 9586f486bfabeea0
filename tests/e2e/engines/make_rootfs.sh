#!/bin/sh
# make_rootfs.sh DIR: a minimal container root in DIR (busybox-static and its applets, the
# usual empty mount points), for the OCI tests. No registry, no network.
set -eu
dir=$1
rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/proc" "$dir/dev" "$dir/sys" "$dir/tmp" "$dir/etc" "$dir/run" "$dir/root"
cp /bin/busybox "$dir/bin/busybox"
for applet in sh echo ls cat sleep true false hostname id ps env kill pwd uname wc; do
  ln -s busybox "$dir/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$dir/etc/passwd"
echo "root:x:0:" > "$dir/etc/group"
