/**
 * The V8 flag ttd runs WebAssembly with (iced-x86 is the only WebAssembly it loads; iced.ts says why
 * Liftoff alone). It lives apart so that the command-line launcher can set it before compiling the
 * single-file build too: V8 accepts a code cache only when the flags are those it was made under.
 */
export const WASM_V8_FLAGS = "--liftoff-only";
