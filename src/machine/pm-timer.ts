/**
 * The ACPI power-management timer's arithmetic: a 3.579545 MHz count derived from virtual time (as
 * QEMU derives it from its virtual clock), exact for any tick count a run can reach.
 */
export const PM_TIMER_HZ = 3_579_545;
const NS_PER_SECOND = 1_000_000_000n;

/** The timer's full count at tick `now` (ns): floor(now * 3579545 / 1e9). */
export function pmTimerCount(now: number): number {
  return Number((BigInt(now) * BigInt(PM_TIMER_HZ)) / NS_PER_SECOND);
}

/** The first tick at which the count reaches `count`. */
export function tickOfPmCount(count: number): number {
  const n = BigInt(count) * NS_PER_SECOND;
  const hz = BigInt(PM_TIMER_HZ);
  return Number((n + hz - 1n) / hz);
}
