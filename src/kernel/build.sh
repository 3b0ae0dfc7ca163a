#!/usr/bin/env bash
# Builds the two demo kernel images with Debian clang 14 and ld.lld:
#   idle-bug.elf    idle_thread() in C, as in seL4 12.1.0 (crashes on the first idle tick)
#   idle-fixed.elf  idle_thread() naked, as in seL4 13.0.0 (runs to "ALL OK")
#
# Usage: bash src/kernel/build.sh [output-dir]   (default: src/kernel/build)
#
# The images must be byte-identical whichever directory the sources are in:
# every path that reaches the DWARF is made relative (src/kernel), objects
# are built in a temporary directory that leaves no trace, inputs are linked
# in a fixed order, and nothing records a time stamp.
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

CFLAGS=(
    --target=i386-pc-none-elf -march=i686 -m32 -ffreestanding -fno-pic -fno-stack-protector
    -mno-sse -mno-mmx -O2 -g -fno-omit-frame-pointer
    -std=c11 -Wall -Wextra -Werror
    # Reproducibility: DW_AT_comp_dir and every directory in the line tables
    # become "src/kernel" (relative to the repository root).
    -fdebug-compilation-dir=src/kernel "-ffile-prefix-map=$src_dir=src/kernel"
)

obj_root="$(mktemp -d)"
trap 'rm -rf "$obj_root"' EXIT

sources=(boot.S traps.S init.c machine.c thread.c fault.c serial.c idle.c user.c)

build_image() {
    local name="$1"
    shift
    local obj_dir="$obj_root/$name"
    mkdir -p "$obj_dir"
    local objs=()
    for s in "${sources[@]}"; do
        local o="$obj_dir/${s%.*}.o"
        # Compile from inside the source directory with relative file names,
        # so that DW_AT_name is just the file name.
        (cd "$src_dir" && "$CC" "${CFLAGS[@]}" "$@" -c "$s" -o "$o")
        objs+=("$o")
    done
    "$LD" -m elf_i386 -T "$src_dir/linker.ld" --no-undefined -o "$obj_dir/$name.elf" "${objs[@]}"
    cp "$obj_dir/$name.elf" "$out_dir/$name.elf"
    echo "built $out_dir/$name.elf"
}

build_image idle-bug
build_image idle-fixed -DFIXED
