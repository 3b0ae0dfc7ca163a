/**
 * The one place iced-x86 (the disassembler and instruction-info library) is loaded. It is loaded
 * with require, not an ES import: importing a CommonJS module from an ES module makes Node scan its
 * source for export names first, and iced-x86's 900 KB of JavaScript takes about 100 ms to scan,
 * which every query command would pay at start-up.
 */
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import type * as Iced from "iced-x86";
import { WASM_V8_FLAGS } from "./wasm-flags.js";

// iced-x86 is WebAssembly, compiled when it loads. By default V8 compiles it with its baseline
// compiler (Liftoff) and then recompiles the functions that get warm with its optimizing one on
// other threads: building the formatter's tables warms enough of them that a command printing a
// handful of instructions pays 20-25 ms of CPU for that recompilation, and it does not pay off
// later either (decoding and formatting 200,000 instructions took 245 ms with Liftoff alone, 300 ms
// with the recompilation: the time goes into the calls between JavaScript and WebAssembly). The
// flag is read when a module is compiled, and iced-x86 is the only WebAssembly ttd loads.
setFlagsFromString(WASM_V8_FLAGS);
const iced = createRequire(import.meta.url)("iced-x86") as typeof Iced;

export const {
  Code, Decoder, DecoderOptions, FlowControl, Formatter, FormatterSyntax, Instruction, InstructionInfoFactory,
  MemorySizeExt, Mnemonic, OpAccess, OpKind, Register, RflagsBits,
} = iced;
export type Code = Iced.Code;
export type Decoder = Iced.Decoder;
export type DecoderOptions = Iced.DecoderOptions;
export type FlowControl = Iced.FlowControl;
export type Formatter = Iced.Formatter;
export type FormatterSyntax = Iced.FormatterSyntax;
export type Instruction = Iced.Instruction;
export type InstructionInfoFactory = Iced.InstructionInfoFactory;
export type Mnemonic = Iced.Mnemonic;
export type OpAccess = Iced.OpAccess;
export type OpKind = Iced.OpKind;
export type Register = Iced.Register;
export type RflagsBits = Iced.RflagsBits;
