/**
 * The input options of `ttd run` and `ttd record`: where input from outside comes from and where it
 * goes. `--input-file F` or a pipe (or file) on stdin: its bytes enter as the guest becomes ready for
 * them (src/input/live-feed.ts), so a scripted session is the same every time. A terminal on stdin:
 * raw mode, keys to COM1 (or the keyboard) as they are typed, with QEMU's Ctrl-A escapes. `--input
 * keyboard` turns bytes into key events for the 8042; `--input none` ignores stdin. `--rtc` starts
 * the virtual CMOS clock at a chosen time.
 */
import type { Command } from "commander";
import { fstatSync, readFileSync, statSync } from "node:fs";
import type { Machine } from "../machine/machine.js";
import { InputDevice } from "../machine/input-feed.js";
import { DEFAULT_INPUT_DELAY, LiveInputFeed } from "../input/live-feed.js";
import { ESCAPE_HELP, TerminalKeys } from "../input/terminal-keys.js";
import { parsePositiveInt, UsageError } from "./errors.js";

export interface InputCliOptions {
  input?: string;
  inputFile?: string;
  inputDelay?: string;
  rtc?: string;
}

/** Adds the input options to `run` or `record`. */
export function addInputOptions(command: Command): Command {
  return command
    .option("--input <where>", "where input goes: com1 (default), keyboard (key events through the 8042) or none (ignore stdin)")
    .option("--input-file <file>", "bytes to type into the guest, each as the guest becomes ready for it (instead of stdin)")
    .option("--input-delay <steps>", `steps between looks for a ready guest while input waits (default ${DEFAULT_INPUT_DELAY}); a byte enters once the guest was ready at two looks in a row, or at once when it halts`)
    .option("--rtc <time>", "start the virtual CMOS clock at this UTC time (e.g. 2026-01-01T00:00:00; default 2000-01-01T00:00:00)");
}

export const INPUT_HELP = `Input: with --input-file F, or a pipe or file on stdin, the bytes enter COM1 (or, with --input
keyboard, the 8042 as key presses) one at a time as the guest becomes ready for them: its receiver
empty and listening (COM1 interrupt enabled, or LSR polled), for two looks --input-delay steps apart,
or at once while it halts. ttd waits for a slow pipe rather than run on without its bytes, so a
scripted session enters its bytes at the same steps every time. On a terminal, stdin is put in raw
mode and keys go to the guest as typed (Ctrl-C too); Ctrl-A x stops (a recording stays valid),
Ctrl-A h prints help, Ctrl-A Ctrl-A sends Ctrl-A. Guest time stays virtual: --rtc only sets where the
CMOS clock starts.`;

/** The input of one run, once its source is known. */
export interface InputSession {
  /** The machine's feed (null: no input). */
  readonly feed: LiveInputFeed | null;
  /** Whether keys come from a terminal in raw mode. */
  readonly interactive: boolean;
  /** Meta rows for a recording: how input was given. */
  readonly meta: Record<string, string>;
  /** Attaches the feed to `machine` and starts reading; `onStop` is called for Ctrl-A x. */
  start(machine: Machine, onStop: () => void): void;
  /** Resolves when there may be something new for the feed (after the run returned "input-wait"). */
  waitForInput(): Promise<void>;
  /** Stops reading and gives the terminal back as it was. */
  close(): void;
}

/** Parses `--rtc`: an ISO date and time, taken as UTC unless it names a zone. */
export function parseRtc(text: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|[+-]\d{2}:\d{2})?$/.exec(text);
  const d = m === null ? new Date(NaN) : new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4] ?? "00"}:${m[5] ?? "00"}:${m[6] ?? "00"}${m[7] ?? "Z"}`);
  const year = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || year < 2000 || year > 2099) {
    throw new UsageError(`--rtc ${text}: not a time from 2000 to 2099 like 2026-01-01T00:00:00`);
  }
  return d;
}

function parseDevice(text: string | undefined): InputDevice | null {
  switch (text ?? "com1") {
    case "com1": case "serial": return InputDevice.Com1;
    case "keyboard": case "kbd": return InputDevice.Keyboard;
    case "none": return null;
    default: throw new UsageError(`--input ${text}: must be com1, keyboard or none`);
  }
}

function readInputFile(path: string): Uint8Array {
  try {
    if (statSync(path).isDirectory()) throw new UsageError(`${path}: is a directory, not an input file`);
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message} (--input-file)`);
  }
}

/** What stdin is: a terminal, a pipe or file to read, or nothing usable (/dev/null, a socket, closed). */
function stdinKind(): "terminal" | "stream" | "none" {
  if (process.stdin.isTTY) return "terminal";
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile() ? "stream" : "none";
  } catch {
    return "none";
  }
}

/** Works out the run's input from its options and stdin; every problem is one UsageError. */
export function openInput(opts: InputCliOptions): InputSession {
  const device = parseDevice(opts.input);
  const delay = opts.inputDelay !== undefined ? parsePositiveInt(opts.inputDelay, "--input-delay") : DEFAULT_INPUT_DELAY;
  if (device === null) {
    if (opts.inputFile !== undefined) throw new UsageError(`--input none and --input-file ${opts.inputFile}: choose one`);
    return noInput();
  }
  const deviceName = device === InputDevice.Com1 ? "com1" : "keyboard";
  if (opts.inputFile !== undefined) {
    const bytes = readInputFile(opts.inputFile);
    const feed = new LiveInputFeed({ device, delay, waitsForSource: true });
    feed.push(bytes);
    feed.end();
    return streamSession(feed, { input_source: "file", input_device: deviceName, input_delay: String(delay) }, null);
  }
  const kind = stdinKind();
  if (kind === "none") {
    if (opts.input !== undefined) throw new UsageError(`--input ${opts.input}: stdin is not a terminal, a pipe or a file; give --input-file`);
    return noInput();
  }
  if (kind === "stream") {
    const feed = new LiveInputFeed({ device, delay, waitsForSource: true });
    return streamSession(feed, { input_source: "pipe", input_device: deviceName, input_delay: String(delay) }, process.stdin);
  }
  return terminalSession(new LiveInputFeed({ device, delay, waitsForSource: false }), deviceName, delay);
}

function noInput(): InputSession {
  return { feed: null, interactive: false, meta: {}, start: () => {}, waitForInput: async () => {}, close: () => {} };
}

/** Wakes whoever waits for input (one waiter at a time: the run loop). */
class Wakeup {
  private resolve: (() => void) | null = null;
  wait(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = timeoutMs === undefined ? null : setTimeout(() => this.fire(), timeoutMs);
      this.resolve = () => {
        if (timer !== null) clearTimeout(timer);
        resolve();
      };
    });
  }
  fire(): void {
    const r = this.resolve;
    this.resolve = null;
    r?.();
  }
}

/** A file (already read) or a pipe on stdin, read as it comes. */
function streamSession(feed: LiveInputFeed, meta: Record<string, string>, stream: NodeJS.ReadStream | null): InputSession {
  const wake = new Wakeup();
  const onData = (chunk: Buffer) => {
    feed.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    wake.fire();
  };
  const onEnd = () => {
    feed.end();
    wake.fire();
  };
  return {
    feed,
    interactive: false,
    meta,
    start(machine) {
      machine.inputFeed = feed;
      if (stream !== null) {
        stream.on("data", onData);
        stream.on("end", onEnd);
        stream.on("error", onEnd);
      }
    },
    waitForInput: () => (feed.pending > 0 || !feed.open ? Promise.resolve() : wake.wait()),
    close() {
      if (stream === null) return;
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onEnd);
      stream.pause();
      stream.destroy();
    },
  };
}

/** A terminal in raw mode: keys as typed, Ctrl-A escapes. */
function terminalSession(feed: LiveInputFeed, deviceName: string, delay: number): InputSession {
  const wake = new Wakeup();
  const keys = new TerminalKeys();
  const stdin = process.stdin;
  let machine: Machine | null = null;
  let stop: () => void = () => {};
  let started = 0;
  const onData = (chunk: Buffer) => {
    keys.feed(
      new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      (bytes) => feed.push(bytes),
      (command) => {
        if (command === "help") process.stderr.write(`\r\n${ESCAPE_HELP.join("\r\n")}\r\n`);
        else stop();
      },
    );
    wake.fire();
  };
  const restore = () => {
    if (stdin.isTTY) stdin.setRawMode(false);
  };
  return {
    feed,
    interactive: true,
    meta: { input_source: "terminal", input_device: deviceName, input_delay: String(delay) },
    start(m, onStop) {
      machine = m;
      stop = () => {
        onStop();
        wake.fire();
      };
      m.inputFeed = feed;
      started = performance.now();
      stdin.setRawMode(true);
      process.on("exit", restore);
      stdin.on("data", onData);
      stdin.resume();
      process.stderr.write(`ttd: keys go to the guest's ${deviceName === "com1" ? "COM1" : "keyboard"}; Ctrl-A x stops, Ctrl-A h for help\r\n`);
    },
    waitForInput() {
      if (feed.pending > 0) return Promise.resolve();
      // The guest halts until an interrupt: let wall time catch up with virtual time (a tick is a
      // nanosecond), so an idle guest's timers run at about their real rate, or until a key comes.
      const aheadMs = machine === null ? 0 : machine.now() / 1e6 - (performance.now() - started);
      return wake.wait(Math.max(1, Math.min(100, aheadMs)));
    },
    close() {
      stdin.off("data", onData);
      restore();
      process.off("exit", restore);
      stdin.pause();
    },
  };
}
