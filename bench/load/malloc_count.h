/* The layout of the file bench/load/malloc_count.c keeps its counts in, shared by that
   preloaded library (the writer, inside the daemon) and mailhook_load (the reader, in
   another process). One page, mapped shared: a header, then one 64-bit counter per
   allocation function, each on a cache line of its own so that threads counting different
   functions do not contend. Counters are only ever added to (relaxed atomics), so a reader
   takes the difference of two readings. */
#ifndef MAILHOOK_BENCH_LOAD_MALLOC_COUNT_H
#define MAILHOOK_BENCH_LOAD_MALLOC_COUNT_H

#include <stdint.h>

#define MAILHOOK_MALLOC_COUNT_MAGIC 0x3174636f6c6c616dULL /* "malloct1", little-endian */
#define MAILHOOK_MALLOC_COUNT_FILE_BYTES 4096
#define MAILHOOK_MALLOC_COUNT_KINDS 6
#define MAILHOOK_MALLOC_COUNT_STRIDE 8 /* uint64_t slots between counters: 64 bytes */

/* The counters, in file order. */
enum mailhook_malloc_kind {
  mailhook_malloc_kind_malloc = 0,
  mailhook_malloc_kind_calloc = 1,
  mailhook_malloc_kind_realloc = 2,
  mailhook_malloc_kind_posix_memalign = 3,
  mailhook_malloc_kind_aligned_alloc = 4,
  mailhook_malloc_kind_memalign = 5
};

/* slots[0]: the magic, written last at start; slots[1]: the writer's pid. Counter k is
   slots[(k + 1) * MAILHOOK_MALLOC_COUNT_STRIDE]. */
static inline uint64_t* mailhook_malloc_count_slot(uint64_t* base, int kind) {
  return base + (kind + 1) * MAILHOOK_MALLOC_COUNT_STRIDE;
}

#endif
