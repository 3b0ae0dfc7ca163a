#!/usr/bin/env bash
# Fetches Debian 12's i386 Linux kernel (the 686 flavour, with its System.map), busybox-static and
# memtest86+ with apt-get download, unpacks them with dpkg-deb into a cache folder and builds the
# initramfs the Linux boot tests use. Nothing fetched is ever committed: it all lives in the cache.
#
#   TTD_DEBIAN_CACHE   the cache folder (default ~/.cache/ttd-debian)
#   TTD_DEBIAN_DBG=1   also fetch linux-image-<version>-dbg (about 765 MB) for the real System.map:
#                      the image package's boot/System.map-<version> is a placeholder that says so.
#                      The real map replaces it in $CACHE/linux/boot/, where ttd looks for it.
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

# The real System.map, from the -dbg package (optional: large, and slow to unpack).
if [ "${TTD_DEBIAN_DBG:-0}" = 1 ]; then
  release=$(ls -1 "$CACHE"/linux/boot/ | sed -n 's/^vmlinuz-//p' | head -n 1)
  map="$CACHE/linux/boot/System.map-$release"
  if grep -q "The real System.map is in" "$map" 2>/dev/null; then
    if ! compgen -G "$CACHE/debs/linux-image-$release-dbg_*_i386.deb" >/dev/null; then
      (cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$release-dbg:i386")
    fi
    dbg=$(ls -1 "$CACHE"/debs/linux-image-"$release"-dbg_*_i386.deb | tail -n 1)
    # The map is near the start of the archive: tar stops reading once it is out (so dpkg-deb may
    # die of SIGPIPE, which is fine: what counts is the map).
    set +o pipefail
    dpkg-deb --fsys-tarfile "$dbg" | tar -x -O --occurrence=1 "./usr/lib/debug/boot/System.map-$release" >"$map.real"
    set -o pipefail
    if [ ! -s "$map.real" ]; then
      echo "fetch-debian-linux: no System.map-$release in $dbg" >&2
      exit 1
    fi
    mv "$map.real" "$map"
    # The map was all that was wanted from it.
    rm -f "$dbg"
  fi
fi

# The initramfs: busybox and an /init script (see src/tools/build-initramfs.ts).
if [ ! -s "$CACHE/initrd.gz" ] || [ "$CACHE/busybox/.unpacked" -nt "$CACHE/initrd.gz" ] || [ src/tools/build-initramfs.ts -nt "$CACHE/initrd.gz" ]; then
  [ -f dist/tools/build-initramfs.js ] || npx tsc -p tsconfig.json
  node dist/tools/build-initramfs.js "$CACHE/busybox/bin/busybox" "$CACHE/initrd.gz"
fi

echo "fetch-debian-linux: cache $CACHE"
ls -1 "$CACHE"/linux/boot/ "$CACHE"/memtest/boot/ 2>/dev/null | sed 's/^/  /'
