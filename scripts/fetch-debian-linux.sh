#!/usr/bin/env bash
# Fetches Debian 12's i386 Linux kernel (the 686 flavour, with its System.map), busybox-static and
# memtest86+ with apt-get download, unpacks them with dpkg-deb into a cache folder and builds the
# initramfs the Linux boot tests use. Nothing fetched is ever committed: it all lives in the cache.
#
#   TTD_DEBIAN_CACHE   the cache folder (default ~/.cache/ttd-debian)
#
# Needs root the first time (dpkg --add-architecture i386 and apt-get update); a cache that already
# holds every package is reused without touching apt. Prints the cache's layout at the end:
#   $CACHE/linux/boot/vmlinuz-<version>, System.map-<version>   (linux-image-<version>)
#   $CACHE/busybox/bin/busybox                                  (busybox-static:i386)
#   $CACHE/memtest/boot/                                        (memtest86+)
#   $CACHE/initrd.gz                                            (built by dist/tools/build-initramfs.js)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${TTD_DEBIAN_CACHE:-$HOME/.cache/ttd-debian}"
mkdir -p "$CACHE/debs"

have_all() {
  compgen -G "$CACHE/debs/linux-image-*-686_*_i386.deb" >/dev/null &&
    compgen -G "$CACHE/debs/busybox-static_*_i386.deb" >/dev/null &&
    compgen -G "$CACHE/debs/memtest86+_*.deb" >/dev/null
}

if ! have_all; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg --print-foreign-architectures | grep -qx i386; then
    $SUDO dpkg --add-architecture i386
  fi
  $SUDO apt-get update -qq
  # The metapackage depends on the current ABI's image package: linux-image-6.1.0-N-686.
  image=$(apt-cache depends linux-image-686:i386 | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-686\).*/\1/p' | head -n 1)
  if [ -z "$image" ]; then
    echo "fetch-debian-linux: cannot resolve linux-image-686:i386 to an image package" >&2
    exit 1
  fi
  echo "fetch-debian-linux: linux-image-686:i386 is $image"
  (cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "$image:i386" busybox-static:i386 memtest86+)
fi

# Unpack each package into its own folder (once).
unpack() {
  local pattern=$1 dest=$2
  local deb
  deb=$(ls -1 $CACHE/debs/$pattern | sort -V | tail -n 1)
  if [ ! -e "$dest/.unpacked" ] || [ "$(cat "$dest/.unpacked")" != "$(basename "$deb")" ]; then
    rm -rf "$dest"
    mkdir -p "$dest"
    dpkg-deb -x "$deb" "$dest"
    basename "$deb" >"$dest/.unpacked"
  fi
}
unpack 'linux-image-*-686_*_i386.deb' "$CACHE/linux"
unpack 'busybox-static_*_i386.deb' "$CACHE/busybox"
unpack 'memtest86+_*.deb' "$CACHE/memtest"

# The initramfs: busybox and an /init script (see src/tools/build-initramfs.ts).
if [ ! -s "$CACHE/initrd.gz" ] || [ "$CACHE/busybox/.unpacked" -nt "$CACHE/initrd.gz" ] || [ src/tools/build-initramfs.ts -nt "$CACHE/initrd.gz" ]; then
  [ -f dist/tools/build-initramfs.js ] || npx tsc -p tsconfig.json
  node dist/tools/build-initramfs.js "$CACHE/busybox/bin/busybox" "$CACHE/initrd.gz"
fi

echo "fetch-debian-linux: cache $CACHE"
ls -1 "$CACHE"/linux/boot/ "$CACHE"/memtest/boot/ 2>/dev/null | sed 's/^/  /'
