/**
 * The whole opcode space as one array: one-byte opcodes at 0x00-0xFF, two-byte ones (0F xx) at 0x100 +
 * xx, the numbering prefixes.ts's readOpcode returns.
 */
import { ONE_BYTE } from "./one-byte.js";
import { TWO_BYTE_MAP } from "./two-byte.js";
import type { InstructionForm } from "./table.js";

export const OPCODES: readonly InstructionForm[] = [...ONE_BYTE, ...TWO_BYTE_MAP];

