/**
 * Checking that a vmlinux (an ELF with the kernel's symbols and DWARF: a distribution's -dbg package,
 * or a user's own build) belongs to the bzImage that was recorded. The bzImage's header names its build
 * (`6.1.0-57-686 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)`)
 * and the vmlinux holds the same text in its linux_banner (`Linux version 6.1.0-57-686
 * (debian-kernel@lists.debian.org) (gcc-12 ...) #1 SMP ...`): another build of the same release differs
 * in its build number or date. Then the checks a System.map gets (linux-system-map.ts): its `_text`
 * against where the kernel is built to run, and the recorded RAM at its linux_banner, which also tell
 * how far KASLR moved the kernel from the vmlinux's addresses.
 */
import { Elf32, ElfError, PT_LOAD } from "../elf/elf32.js";
import { isLinuxBzImage, kernelVersionText } from "../machine/linux-boot.js";
import { checkSystemMap, type KernelSymbolsCheck, type RecordedRam } from "./linux-system-map.js";

/** The NUL-terminated text at virtual address `address` of the ELF's loaded segments, or null. */
function stringAt(elf: Elf32, address: number, max = 512): string | null {
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_LOAD || address < ph.vaddr || address >= ph.vaddr + ph.filesz) continue;
    const start = ph.offset + (address - ph.vaddr);
    const bytes = elf.bytes.subarray(start, Math.min(start + max, ph.offset + ph.filesz));
    const end = bytes.indexOf(0);
    return new TextDecoder("latin1").decode(end < 0 ? bytes : bytes.subarray(0, end));
  }
  return null;
}

/**
 * Whether the ELF `data` (read from `path`) is the vmlinux of the recorded bzImage `image` (nothing says
 * it is not also when `image` is not a bzImage, or `data` not an ELF: other checks say so), and how far
 * the kernel ran from its addresses.
 */
export function checkVmlinux(data: Uint8Array | Elf32, path: string, image: Uint8Array, ram: RecordedRam): KernelSymbolsCheck {
  const fits: KernelSymbolsCheck = { mismatch: null, slide: 0 };
  if (!isLinuxBzImage(image)) return fits;
  let elf: Elf32;
  try {
    elf = data instanceof Elf32 ? data : new Elf32(data);
  } catch (e) {
    if (e instanceof ElfError) return fits;
    throw e;
  }
  const symbols = elf.symbols();
  const banner = symbols.find((s) => s.name === "linux_banner");
  if (banner === undefined) return { mismatch: "it has no linux_banner symbol: not a Linux vmlinux" };
  const text = stringAt(elf, banner.value);
  const version = kernelVersionText(image);
  if (text !== null && version !== null) {
    // "<release> (<builder>) <build version>" against "Linux version <release> (<builder>) (<tools>) <build version>".
    const cut = version.indexOf(") ");
    const head = cut < 0 ? version : version.slice(0, cut + 1);
    const tail = cut < 0 ? "" : version.slice(cut + 2);
    if (!text.startsWith(`Linux version ${head}`) || !text.trimEnd().endsWith(tail)) {
      return { mismatch: `its linux_banner reads "${text.trim()}", the kernel is "${version}"` };
    }
  }
  const named = symbols.filter((s) => s.name === "_text" || s.name === "linux_banner").map((s) => ({ address: s.value, type: "D", name: s.name }));
  return checkSystemMap(named, path, image, ram);
}
