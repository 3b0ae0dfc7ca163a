/** String instructions (MOVS CMPS STOS LODS SCAS INS OUTS, with REP) and port I/O (IN, OUT). */
import type { CPU } from "../../cpu.js";
import type { Handler } from "../table.js";
import { cmps, ins, lods, movs, outs, scas, stos } from "../../string-ops.js";
import { portIn, portOut } from "../../io.js";
import { EAX, EDX } from "../../constants.js";

type StringOp = (cpu: CPU, size: number) => void;

/** A string instruction on bytes (`byte`) or on operand-size units. */
export function stringOp(op: StringOp, byte: boolean): Handler {
  return (cpu) => op(cpu, byte ? 1 : cpu.o32 ? 4 : 2);
}

export const STRING = { movs, cmps, stos, lods, scas, ins, outs };

/** E4 / EC: IN AL, Ib / DX. */
export function inAl(dxPort: boolean): Handler {
  return (cpu) => {
    cpu.regs8[0] = portIn(cpu, dxPort ? cpu.getReg16(EDX) : cpu.fetch8(), 1);
  };
}

/** E5 / ED: IN eAX, Ib / DX. */
export function inEax(dxPort: boolean): Handler {
  return (cpu) => {
    const port = dxPort ? cpu.getReg16(EDX) : cpu.fetch8();
    if (cpu.o32) cpu.regs[EAX] = portIn(cpu, port, 4);
    else cpu.regs16[0] = portIn(cpu, port, 2);
  };
}

/** E6 / EE: OUT Ib / DX, AL. */
export function outAl(dxPort: boolean): Handler {
  return (cpu) => portOut(cpu, dxPort ? cpu.getReg16(EDX) : cpu.fetch8(), 1, cpu.regs8[0]);
}

/** E7 / EF: OUT Ib / DX, eAX. */
export function outEax(dxPort: boolean): Handler {
  return (cpu) => {
    const port = dxPort ? cpu.getReg16(EDX) : cpu.fetch8();
    if (cpu.o32) portOut(cpu, port, 4, cpu.regs[EAX]);
    else portOut(cpu, port, 2, cpu.regs16[0]);
  };
}
