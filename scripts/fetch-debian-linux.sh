#!/usr/bin/env bash
# Fetches Debian 12's i386 Linux kernel (the 686 flavour, with its System.map), busybox-static and
# memtest86+ with apt-get download, unpacks them with dpkg-deb into a cache folder and builds the
# initramfs the Linux boot tests use. Nothing fetched is ever committed: it all lives in the cache.
#
#   TTD_DEBIAN_CACHE   the cache folder (default ~/.cache/ttd-debian)
#   TTD_DEBIAN_DBG=1   also fetch linux-image-<version>-dbg (about 765 MB) for the real System.map:
#                      the image package's boot/System.map-<version> is a placeholder that says so.
#                      The real map replaces it in $CACHE/linux/boot/, where ttd looks for it.
#   TTD_DEBIAN_VMLINUX=1 also keep the -dbg package's vmlinux-<version> (an ELF with DWARF, about 300 MB)
#                      in $CACHE/linux/debug/, for `--symbols vmlinux-<version>`. Implies TTD_DEBIAN_DBG=1.
#
# Needs root the first time (dpkg --add-architecture i386 and apt-get update); a cache that already
# holds every package is reused without touching apt. Prints the cache's layout at the end:
#   $CACHE/linux/boot/vmlinuz-<version>, System.map-<version>   (linux-image-<version>)
#   $CACHE/linux/debug/vmlinux-<version>                        (linux-image-<version>-dbg, TTD_DEBIAN_VMLINUX=1)
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

# The real System.map (and with TTD_DEBIAN_VMLINUX=1 the vmlinux with DWARF), from the -dbg package
# (optional: large, and slow to unpack).
want_vmlinux="${TTD_DEBIAN_VMLINUX:-0}"
if [ "${TTD_DEBIAN_DBG:-0}" = 1 ] || [ "$want_vmlinux" = 1 ]; then
  release=$(ls -1 "$CACHE"/linux/boot/ | sed -n 's/^vmlinuz-//p' | head -n 1)
  map="$CACHE/linux/boot/System.map-$release"
  vmlinux="$CACHE/linux/debug/vmlinux-$release"
  need_map=0
  need_vmlinux=0
  grep -q "The real System.map is in" "$map" 2>/dev/null && need_map=1
  [ "$want_vmlinux" = 1 ] && [ ! -s "$vmlinux" ] && need_vmlinux=1
  if [ $need_map = 1 ] || [ $need_vmlinux = 1 ]; then
    if ! compgen -G "$CACHE/debs/linux-image-$release-dbg_*_i386.deb" >/dev/null; then
      (cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$release-dbg:i386")
    fi
    dbg=$(ls -1 "$CACHE"/debs/linux-image-"$release"-dbg_*_i386.deb | tail -n 1)
    # Both files are near the start of the archive (the map first, then the vmlinux; the modules
    # follow): tar stops reading once it has them (so dpkg-deb may die of SIGPIPE, which is fine:
    # what counts is the file).
    extract() {
      set +o pipefail
      dpkg-deb --fsys-tarfile "$dbg" | tar -x -O --occurrence=1 "$1" >"$2"
      set -o pipefail
      if [ ! -s "$2" ]; then
        echo "fetch-debian-linux: no $1 in $dbg" >&2
        exit 1
      fi
    }
    if [ $need_map = 1 ]; then
      extract "./usr/lib/debug/boot/System.map-$release" "$map.real"
      mv "$map.real" "$map"
    fi
    if [ $need_vmlinux = 1 ]; then
      mkdir -p "$CACHE/linux/debug"
      extract "./usr/lib/debug/boot/vmlinux-$release" "$vmlinux.part"
      mv "$vmlinux.part" "$vmlinux"
    fi
    # What was wanted from it is out: the package itself is not kept.
    rm -f "$dbg"
  fi
fi

# The initramfs: busybox and an /init script (see src/tools/build-initramfs.ts).
if [ ! -s "$CACHE/initrd.gz" ] || [ "$CACHE/busybox/.unpacked" -nt "$CACHE/initrd.gz" ] || [ src/tools/build-initramfs.ts -nt "$CACHE/initrd.gz" ]; then
  [ -f dist/tools/build-initramfs.js ] || npx tsc -p tsconfig.json
  node dist/tools/build-initramfs.js "$CACHE/busybox/bin/busybox" "$CACHE/initrd.gz"
fi

echo "fetch-debian-linux: cache $CACHE"
ls -1 "$CACHE"/linux/boot/ "$CACHE"/linux/debug/ "$CACHE"/memtest/boot/ 2>/dev/null | sed 's/^/  /'
