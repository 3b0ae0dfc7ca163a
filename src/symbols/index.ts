/** The symbol layer's public surface: load with DebugInfo.fromElf, evaluate with ExpressionEvaluator. */
export { DebugInfo } from "./debug-info.js";
export type {
  CompileUnit, DataLocation, EnumeratorInfo, FunctionAt, FunctionInfo, LoadOptions, Variable,
} from "./debug-info.js";
export type { SourceLocation } from "./line-index.js";
export type { AddressRange } from "./ranges.js";
export { ExpressionEvaluator, evaluateExpression, watchLocation } from "./expr-eval.js";
export type { EvalOptions, EvalResult, WatchLocation } from "./expr-eval.js";
export { ExpressionError } from "./expr-error.js";
export { ImageContext, registerNames, registerSpec } from "./eval-context.js";
export type { EvalContext, RegisterSpec } from "./eval-context.js";
export { formatValue } from "./format.js";
export type { FormatOptions } from "./format.js";
export { declare, findMember, resolveType, sizeOf, typeName } from "./types.js";
export type { CType, Member, StructType, EnumType, ArrayType, PointerType, BaseType, FunctionType } from "./types.js";
export { DwarfError } from "./reader.js";
