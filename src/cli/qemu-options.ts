/**
 * QEMU's spellings on `ttd run` and `ttd record`, so a QEMU command line can be pasted after them:
 * `ttd run -kernel k.elf -initrd mod -append "x" -m 256M -serial stdio -display none`.
 *
 * Commander does not take single-dash long options, so the arguments are rewritten once, before
 * parsing, into ttd's own options by the table below. QEMU options that change nothing here (ttd
 * already behaves that way) are dropped silently; options whose effect ttd does not have but which do
 * not change what the guest computes are dropped with a note on stderr; anything else is refused.
 */
import { UsageError } from "./errors.js";

/** Commands whose arguments go through the rewriting. */
export const QEMU_STYLE_COMMANDS: ReadonlySet<string> = new Set(["run", "record"]);

type Rewrite = (value: string) => string[];

interface Alias {
  /** The option takes a value (the next argument). */
  value: boolean;
  /** The ttd arguments it becomes; `note` when it is dropped with a note, `[]` when silently dropped. */
  to: Rewrite;
  /** For dropped options: why it changes nothing the guest sees, printed as a note (none when undefined). */
  note?: string | ((value: string) => string | undefined);
}

/** ttd's own options whose values must not be mistaken for QEMU options (`--cmdline "-m 5"`). */
const TTD_VALUED = new Set(["-o", "--output", "--max-steps", "--memory", "--cmdline", "--module", "--hda", "--hdb", "--drive"]);

const MIB = 1024 * 1024;

/** QEMU's -m: `[size=]N[suffix][,...]`, N in MiB without a suffix; ttd needs whole MiB. */
export function qemuMemoryMiB(value: string): number {
  const first = value.split(",")[0].replace(/^size=/, "");
  const m = /^(\d+(?:\.\d+)?)([bkmgt]?)$/i.exec(first);
  if (!m || value.includes(",")) throw new UsageError(`-m ${value}: expected a size such as 256, 256M or 1G`);
  const scale: Record<string, number> = { "": MIB, b: 1, k: 1024, m: MIB, g: 1024 * MIB, t: 1024 * 1024 * MIB };
  const bytes = Number(m[1]) * scale[m[2].toLowerCase()];
  if (!Number.isInteger(bytes / MIB) || bytes <= 0) throw new UsageError(`-m ${value}: ttd needs a whole number of MiB`);
  return bytes / MIB;
}

/** QEMU's -initrd list: files separated by commas, ",," standing for a comma inside a name. */
export function splitInitrd(list: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < list.length; i++) {
    if (list[i] === ",") {
      if (list[i + 1] === ",") {
        cur += ",";
        i++;
        continue;
      }
      out.push(cur);
      cur = "";
    } else {
      cur += list[i];
    }
  }
  out.push(cur);
  if (out.some((f) => f === "")) throw new UsageError(`-initrd ${list}: an empty file name in the list`);
  return out;
}

const dropped: Rewrite = () => [];

/** Accepts a value from `allowed` (compared case-insensitively), refusing others with `why`. */
function onlyValues(option: string, allowed: RegExp, why: string): Rewrite {
  return (v) => {
    if (!allowed.test(v)) throw new UsageError(`${option} ${v}: ${why}`);
    return [];
  };
}

/** isa-debug-exit at 0xf4 is built in; any other device or port is not available. */
function device(v: string): string[] {
  const [name, ...props] = v.split(",");
  if (name !== "isa-debug-exit") throw new UsageError(`-device ${v}: ttd has no such device (its devices are fixed; see docs/machine.md)`);
  const kv = new Map(props.map((p) => p.split("=") as [string, string]));
  const base = kv.get("iobase"), size = kv.get("iosize");
  if (base !== undefined && Number(base) === 0xf4 && (size === undefined || Number(size) === 4)) return [];
  throw new UsageError(`-device ${v}: ttd's isa-debug-exit is at iobase=0xf4,iosize=0x04 only`);
}

const ALIASES: Record<string, Alias> = {
  kernel: { value: true, to: (v) => [v] },
  initrd: { value: true, to: (v) => splitInitrd(v).flatMap((f) => ["--module", f]) },
  append: { value: true, to: (v) => ["--cmdline", v] },
  m: { value: true, to: (v) => ["--memory", String(qemuMemoryMiB(v))] },
  hda: { value: true, to: (v) => ["--hda", v] },
  hdb: { value: true, to: (v) => ["--hdb", v] },
  drive: { value: true, to: (v) => ["--drive", v] },
  // What ttd does anyway.
  serial: { value: true, to: onlyValues("-serial", /^(mon:)?stdio$/i, "ttd sends COM1 to stdout only (-serial stdio)") },
  monitor: { value: true, to: onlyValues("-monitor", /^none$/i, "ttd has no monitor (-monitor none)") },
  display: { value: true, to: dropped, note: (v) => (/^none$/i.test(v) ? undefined : "ttd has no display window") },
  nographic: { value: false, to: dropped },
  "no-reboot": { value: false, to: dropped },
  "no-shutdown": { value: false, to: dropped },
  net: { value: true, to: onlyValues("-net", /^none$/i, "ttd has no network card (-net none)") },
  nic: { value: true, to: onlyValues("-nic", /^none$/i, "ttd has no network card (-nic none)") },
  device: { value: true, to: device },
  machine: { value: true, to: onlyValues("-machine", /^(pc|pc-i440fx[-.\w]*)$/i, "ttd emulates an i440FX PC (-machine pc) only") },
  M: { value: true, to: onlyValues("-M", /^(pc|pc-i440fx[-.\w]*)$/i, "ttd emulates an i440FX PC (-M pc) only") },
  smp: { value: true, to: onlyValues("-smp", /^(1|cpus=1)$/, "ttd emulates one processor") },
  name: { value: true, to: dropped },
  // Changes how QEMU runs, not what the guest computes.
  "enable-kvm": { value: false, to: dropped, note: "ttd is its own emulator" },
  accel: { value: true, to: dropped, note: "ttd is its own emulator" },
  icount: { value: true, to: dropped, note: "ttd's time always counts steps (one nanosecond each)" },
  singlestep: { value: false, to: dropped, note: "ttd's recordings hold every step" },
  "one-insn-per-tb": { value: false, to: dropped, note: "ttd's recordings hold every step" },
  d: { value: true, to: dropped, note: "for logs, record the run with 'ttd record'" },
  D: { value: true, to: dropped, note: "for logs, record the run with 'ttd record'" },
  snapshot: { value: false, to: dropped, note: "ttd never writes to disk images" },
};

/** Options ttd refuses with a pointer to what it offers instead. */
const REFUSED: Record<string, string> = {
  s: "ttd serves recordings to gdb: 'ttd record' then 'ttd gdbserver'",
  S: "ttd serves recordings to gdb: 'ttd record' then 'ttd gdbserver'",
  gdb: "ttd serves recordings to gdb: 'ttd record' then 'ttd gdbserver'",
  cpu: "ttd's CPU identity is fixed (see docs/machine.md)",
};

/**
 * Rewrites `args` (the arguments after the command name) from QEMU's spellings into ttd's.
 * `note` receives one line per option dropped with a note. Throws a UsageError for an option ttd
 * cannot honour or a QEMU option missing its value.
 */
export function rewriteQemuArgs(args: readonly string[], note: (line: string) => void = () => {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (TTD_VALUED.has(a)) {
      out.push(a);
      if (i + 1 < args.length) out.push(args[++i]);
      continue;
    }
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(a);
    // ttd's own options keep their double-dash spelling (--hda, --memory...); --initrd and --append are both.
    const name = m === null || (a.startsWith("--") && m[1] !== "initrd" && m[1] !== "append") ? null : m[1];
    if (name === null || !(Object.hasOwn(ALIASES, name) || Object.hasOwn(REFUSED, name))) {
      out.push(a);
      continue;
    }
    const spelled = `-${name}`;
    if (Object.hasOwn(REFUSED, name)) throw new UsageError(`${spelled}: not supported; ${REFUSED[name]}`);
    const alias = ALIASES[name];
    let value = "";
    if (alias.value) {
      if (m![2] !== undefined) value = m![2];
      else if (i + 1 < args.length) value = args[++i];
      else throw new UsageError(`${spelled}: expects a value`);
    }
    const rewritten = alias.to(value);
    const why = typeof alias.note === "function" ? alias.note(value) : alias.note;
    if (why !== undefined) note(`ignoring QEMU option ${spelled}${alias.value ? ` ${value}` : ""}: ${why}`);
    out.push(...rewritten);
  }
  return out;
}
