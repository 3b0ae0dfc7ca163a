import { describe, expect, it } from "vitest";
import { groupDigits } from "../../src/text/group-digits.js";

describe("groupDigits", () => {
  it("writes what toLocaleString('en-US') writes", () => {
    const values = [0, 1, 12, 123, 1234, 12345, 123456, 1234567, -1, -1234, -999999, 1000, 85331, 2 ** 40, Number.MAX_SAFE_INTEGER, 1.5, NaN];
    for (let x = 1; x < 1e15; x = x * 7 + 3) values.push(x, -x);
    for (const v of values) expect(groupDigits(v)).toBe(v.toLocaleString("en-US"));
  });
});
