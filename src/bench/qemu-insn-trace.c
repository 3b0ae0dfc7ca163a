/*
 * A QEMU TCG plugin that writes the address of every instruction the guest executes, from the first
 * execution of a given address on, as little-endian 32-bit words into a file (a FIFO that ttd's
 * lockstep comparison reads). QEMU's register dump costs ~10 us an instruction; this costs a callback
 * and four bytes, so control flow can be compared at every instruction of a long run
 * (src/bench/qemu-insn-trace.ts builds it; src/bench/lockstep-core.ts compares).
 *
 * Arguments: out=<path> (opened for writing, created if missing), start=<address>.
 *
 * The declarations below are the QEMU plugin API of version 1 (QEMU 5.2 to 8.1), written out here
 * because distributions do not ship qemu-plugin.h: only the calls this plugin makes.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct {
  const char *target_name;
  struct {
    int min;
    int cur;
  } version;
  bool system_emulation;
  union {
    struct {
      int smp_vcpus;
      int max_vcpus;
    } system;
  };
} qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

/* Addresses gathered before a write: 64 KiB, the size of a pipe's buffer. */
#define BUFFERED 16384

static int out = -1;
static uint32_t start;
static bool started;
static uint32_t buffer[BUFFERED];
static size_t buffered;

static void flush(void) {
  const char *p = (const char *)buffer;
  size_t left = buffered * sizeof buffer[0];
  while (left > 0) {
    ssize_t n = write(out, p, left);
    /* The reader went away (the comparison is over): nothing is left to do. */
    if (n <= 0) _exit(0);
    p += n;
    left -= (size_t)n;
  }
  buffered = 0;
}

static void executed(unsigned int vcpu_index, void *userdata) {
  uint32_t pc = (uint32_t)(uintptr_t)userdata;
  (void)vcpu_index;
  if (!started) {
    if (pc != start) return;
    started = true;
  }
  buffer[buffered++] = pc;
  if (buffered == BUFFERED) flush();
}

/* Every instruction of a block being translated gets the callback, with its address as its data. */
static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  size_t n = qemu_plugin_tb_n_insns(tb);
  (void)id;
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    uintptr_t pc = (uintptr_t)qemu_plugin_insn_vaddr(insn);
    qemu_plugin_register_vcpu_insn_exec_cb(insn, executed, QEMU_PLUGIN_CB_NO_REGS, (void *)pc);
  }
}

static void ending(qemu_plugin_id_t id, void *userdata) {
  (void)id;
  (void)userdata;
  if (buffered > 0) flush();
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "out=", 4) == 0) out = open(argv[i] + 4, O_WRONLY | O_CREAT, 0644);
    else if (strncmp(argv[i], "start=", 6) == 0) start = (uint32_t)strtoul(argv[i] + 6, NULL, 0);
  }
  if (out < 0) return -1;
  qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
  qemu_plugin_register_atexit_cb(id, ending, NULL);
  return 0;
}
