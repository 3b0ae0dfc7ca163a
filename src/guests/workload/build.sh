#!/usr/bin/env bash
# Builds the workload guests with Debian clang 14 and ld.lld:
#   workload-r<N>.elf     N rounds (1, 10, 30, 300, 1000)
#   workload-pg-r10.elf   10 rounds with 4 KiB paging on (identity map of the first 16 MiB)
#   workload-fpu-r10.elf  10 rounds of x87 floating point (fpu.c)
#
# Usage: bash src/guests/workload/build.sh [output-dir]   (default: src/guests/workload/build)
#
# The images must be byte-identical whichever directory the sources are in, and their DWARF must
# name a build folder that exists on no user's machine (/ttd-build/workload): tests rely on a
# line-table path that does not resolve, as with a kernel built elsewhere. Objects are built in a
# temporary folder that leaves no trace, inputs are linked in a fixed order, nothing records a time.
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
out_dir="${1:-$src_dir/build}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd -P)"

CC="${CC:-clang}"
LD="${LD:-ld.lld}"
for tool in "$CC" "$LD"; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (apt-get install clang lld)" >&2; exit 1; }
done

BUILD_PATH=/ttd-build/workload
CFLAGS=(
    --target=i386-pc-none-elf -march=i686 -m32 -ffreestanding -fno-pic -fno-stack-protector
    -mno-sse -mno-mmx -O2 -g -gdwarf-5
    -std=c11 -Wall -Wextra -Werror
    -fdebug-compilation-dir="$BUILD_PATH" "-fdebug-prefix-map=$src_dir=$BUILD_PATH"
)

obj_root="$(mktemp -d)"
trap 'rm -rf "$obj_root"' EXIT

# Compiled from inside the source folder with relative names, so DW_AT_name is the file name.
compile() {
    (cd "$src_dir" && "$CC" "${CFLAGS[@]}" "$@")
}

compile -c entry.S -o "$obj_root/entry.o"
compile -c serial.c -o "$obj_root/serial.o"
compile -c paging.c -o "$obj_root/paging.o"

build_image() {
    local name="$1" rounds="$2" source="${SOURCE:-workload.c}"
    shift 2
    compile -DROUNDS="$rounds" "$@" -c "$source" -o "$obj_root/$name.o"
    local objs=("$obj_root/entry.o" "$obj_root/$name.o" "$obj_root/serial.o")
    case " $* " in *" -DPAGING "*) objs+=("$obj_root/paging.o") ;; esac
    "$LD" -m elf_i386 -T "$src_dir/workload.ld" --no-undefined -o "$obj_root/$name.elf" "${objs[@]}"
    cp "$obj_root/$name.elf" "$out_dir/$name.elf"
    echo "built $out_dir/$name.elf"
}

for rounds in ${WORKLOAD_ROUNDS:-1 10 30 300 1000}; do
    build_image "workload-r$rounds" "$rounds"
done
build_image workload-pg-r10 10 -DPAGING
SOURCE=fpu.c build_image workload-fpu-r10 10
