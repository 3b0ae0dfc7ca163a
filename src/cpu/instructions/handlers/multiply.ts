/** MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV: operand fetch around ../../muldiv.ts. */
import type { CPU } from "../../cpu.js";
import type { Handler } from "../table.js";
import { div, idiv, imul1, imulTrunc, mul } from "../../muldiv.js";
import { readESized } from "./alu.js";

const ONE_OPERAND = [mul, imul1, div, idiv];

/** F6/F7 /4-/7: MUL, IMUL, DIV, IDIV r/m (`kind` 0-3), the accumulator implicit. */
export function mulDivE(byte: boolean, kind: number): Handler {
  const op = ONE_OPERAND[kind];
  return (cpu) => {
    cpu.decodeModrm();
    const size = byte ? 0 : cpu.o32 ? 2 : 1;
    op(cpu, readESized(cpu, size), size);
  };
}

/** 69 / 6B: IMUL Gv, Ev, Iz / Ib. */
export function imulGvEvI(byteImmediate: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const a = cpu.readEv();
    const b = byteImmediate ? cpu.fetchS8() : cpu.fetchImm();
    cpu.setRegV((cpu.modrm >> 3) & 7, imulTrunc(cpu, a, b, cpu.o32 ? 2 : 1));
  };
}

/** 0F AF: IMUL Gv, Ev. */
export function imulGvEv(cpu: CPU): void {
  cpu.decodeModrm();
  const reg = (cpu.modrm >> 3) & 7;
  cpu.setRegV(reg, imulTrunc(cpu, cpu.getRegV(reg), cpu.readEv(), cpu.o32 ? 2 : 1));
}
