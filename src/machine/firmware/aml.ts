/**
 * An encoder for the ACPI Machine Language (ACPI 6.4, chapter 20): the few terms ttd's DSDT uses,
 * each a function returning its bytes, composed the way ASL nests. Names are written as in ASL
 * ("PCI0", "\\_SB.PCI0.ISA_", "^LNKA"); segments shorter than four characters are padded with "_".
 */

export type Aml = number[];

// ---- Encodings -------------------------------------------------------------------------------

/** A number in PkgLength's variable-length form (20.2.4): one byte below 0x40, else up to four. */
function lengthEncoding(v: number): Aml {
  if (v < 0x40) return [v];
  for (let extra = 1; extra <= 3; extra++) {
    if (v < 1 << (4 + 8 * extra)) {
      const out = [(extra << 6) | (v & 0x0f)];
      for (let i = 0; i < extra; i++) out.push((v >>> (4 + 8 * i)) & 0xff);
      return out;
    }
  }
  throw new Error(`AML length too large (${v})`);
}

/** PkgLength: the length of what follows plus the PkgLength bytes themselves. */
export function pkgLength(contentLength: number): Aml {
  for (let n = 1; n <= 4; n++) {
    const enc = lengthEncoding(contentLength + n);
    if (enc.length === n) return enc;
  }
  throw new Error(`AML package too long (${contentLength} bytes)`);
}

function segment(s: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(s)) throw new Error(`bad AML name segment "${s}"`);
  return Array.from(s.padEnd(4, "_"), (c) => c.charCodeAt(0));
}

/** A NameString: optional root (\) or parent (^) prefixes, then one or more dot-separated segments. */
export function nameString(name: string): Aml {
  let i = 0;
  const prefix: Aml = [];
  if (name[0] === "\\") {
    prefix.push(0x5c);
    i = 1;
  } else {
    while (name[i] === "^") {
      prefix.push(0x5e);
      i++;
    }
  }
  const rest = name.slice(i);
  if (rest === "") return [...prefix, 0x00];
  const segs = rest.split(".").map(segment);
  if (segs.length === 1) return [...prefix, ...segs[0]];
  if (segs.length === 2) return [...prefix, 0x2e, ...segs[0], ...segs[1]];
  return [...prefix, 0x2f, segs.length, ...segs.flat()];
}

/** An integer constant in its shortest encoding (Zero, One, Ones or a prefixed byte/word/dword). */
export function int(v: number): Aml {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`AML integer out of range: ${v}`);
  if (v === 0) return [0x00];
  if (v === 1) return [0x01];
  if (v <= 0xff) return [0x0a, v];
  if (v <= 0xffff) return [0x0b, v & 0xff, v >>> 8];
  return [0x0c, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}

export function string(s: string): Aml {
  return [0x0d, ...Array.from(s, (c) => c.charCodeAt(0) & 0x7f), 0x00];
}

/** EISAID("PNP0A03"): three letters in 5 bits each, then four hex digits, as a DWORD. */
export function eisaId(id: string): Aml {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new Error(`bad EISA id "${id}"`);
  const c = (k: number) => id.charCodeAt(k) - 0x40;
  const hex = parseInt(id.slice(3), 16);
  const b0 = (c(0) << 2) | (c(1) >> 3);
  const b1 = ((c(1) & 7) << 5) | c(2);
  return int((b0 | (b1 << 8) | ((hex >> 8) << 16) | ((hex & 0xff) << 24)) >>> 0);
}

const withLength = (op: Aml, content: Aml): Aml => [...op, ...pkgLength(content.length), ...content];

// ---- Named objects and scopes ----------------------------------------------------------------

export const name = (n: string, value: Aml): Aml => [0x08, ...nameString(n), ...value];
export const scope = (n: string, ...terms: Aml[]): Aml => withLength([0x10], [...nameString(n), ...terms.flat()]);
export const device = (n: string, ...terms: Aml[]): Aml => withLength([0x5b, 0x82], [...nameString(n), ...terms.flat()]);

/** Method(name, args, Serialized?) { terms } */
export function method(n: string, args: number, serialized: boolean, ...terms: Aml[]): Aml {
  return withLength([0x14], [...nameString(n), (args & 7) | (serialized ? 8 : 0), ...terms.flat()]);
}

export function buffer(bytes: Aml): Aml {
  const content = [...int(bytes.length), ...bytes];
  return withLength([0x11], content);
}

export function pkg(...elements: Aml[]): Aml {
  if (elements.length > 255) throw new Error("AML package of more than 255 elements");
  return withLength([0x12], [elements.length, ...elements.flat()]);
}

/** A name used as a package element or operand (a reference resolved at run time). */
export const ref = (n: string): Aml => nameString(n);

// ---- Operation regions and fields ------------------------------------------------------------

export const enum RegionSpace {
  SystemMemory = 0,
  SystemIO = 1,
  PciConfig = 2,
}

export function operationRegion(n: string, space: RegionSpace, offset: number, length: number): Aml {
  return [0x5b, 0x80, ...nameString(n), space, ...int(offset), ...int(length)];
}

/** Field access types and update rules (20.2.5.2 FieldFlags). */
export const FIELD_BYTE_ACC = 1;
export const FIELD_PRESERVE = 0;

/** Field(region, flags) { name, bits; ... }: consecutive named fields from offset 0. */
export function field(region: string, flags: number, units: Array<[string, number]>): Aml {
  // A field's width in bits is written in PkgLength's form but counts only itself.
  const list = units.flatMap(([n, bits]) => [...segment(n), ...lengthEncoding(bits)]);
  return withLength([0x5b, 0x81], [...nameString(region), flags, ...list]);
}

// ---- Statements and expressions --------------------------------------------------------------

export const ret = (value: Aml): Aml => [0xa4, ...value];
export const ifThen = (predicate: Aml, ...terms: Aml[]): Aml => withLength([0xa0], [...predicate, ...terms.flat()]);
export const store = (value: Aml, target: Aml): Aml => [0x70, ...value, ...target];
export const and = (a: Aml, b: Aml, target: Aml = [0x00]): Aml => [0x7b, ...a, ...b, ...target];
export const or = (a: Aml, b: Aml, target: Aml = [0x00]): Aml => [0x7d, ...a, ...b, ...target];
export const lEqual = (a: Aml, b: Aml): Aml => [0x93, ...a, ...b];
export const arg = (n: number): Aml => [0x68 + n];
/** CreateDWordField(source, byteIndex, name) */
export const createDWordField = (source: Aml, byteIndex: number, n: string): Aml => [0x8a, ...source, ...int(byteIndex), ...nameString(n)];

/** The table body: the terms of a DefinitionBlock, after its 36-byte header. */
export function definitionBlock(...terms: Aml[]): Uint8Array {
  return Uint8Array.from(terms.flat());
}
