/* libmailhook_malloc_count.so: LD_PRELOADed into the daemon by bench/load/run-load.sh
   (MAILHOOK_BENCH_COUNT_ALLOCS=1), it counts the calls to malloc, calloc, realloc,
   posix_memalign, aligned_alloc and memalign (libstdc++'s operator new calls malloc, so
   C++ allocations are counted too) and passes each on to the next definition
   (dlsym(RTLD_NEXT)). The counts live in a file mapped shared, named by
   MAILHOOK_MALLOC_COUNT_FILE (layout: malloc_count.h), so mailhook_load can read them at
   the start and the end of its measured window while the daemon runs.

   Threads: any; each count is one relaxed atomic add. The first allocation (during the
   dynamic loader's start, before main) resolves the real functions; dlsym may itself call
   calloc then, which is served from a static buffer that free() recognises and ignores.
   Without MAILHOOK_MALLOC_COUNT_FILE, or if the file cannot be mapped, it says so on
   stderr and counts into memory nobody reads: the reader then finds no counts and fails. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "malloc_count.h"

typedef void* (*malloc_fn)(size_t);
typedef void* (*calloc_fn)(size_t, size_t);
typedef void* (*realloc_fn)(void*, size_t);
typedef void (*free_fn)(void*);
typedef int (*posix_memalign_fn)(void**, size_t, size_t);
typedef void* (*aligned_alloc_fn)(size_t, size_t);
typedef void* (*memalign_fn)(size_t, size_t);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static posix_memalign_fn real_posix_memalign;
static aligned_alloc_fn real_aligned_alloc;
static memalign_fn real_memalign;

/* Where the counts go until (and unless) the shared file is mapped. */
static uint64_t fallback_slots[MAILHOOK_MALLOC_COUNT_FILE_BYTES / sizeof(uint64_t)];
static uint64_t* slots = fallback_slots;

/* Allocations made while dlsym runs, before the real functions are known. */
static _Alignas(16) unsigned char bootstrap[16384];
static size_t bootstrap_used;
static int resolving;

static int in_bootstrap(const void* p) {
  return (const unsigned char*)p >= bootstrap &&
         (const unsigned char*)p < bootstrap + sizeof bootstrap;
}

static void* bootstrap_alloc(size_t size) {
  size_t start = (bootstrap_used + 15) & ~(size_t)15;
  if (size > sizeof bootstrap - start) return NULL;
  bootstrap_used = start + size;
  return bootstrap + start;
}

static void say(const char* text) {
  ssize_t ignored = write(2, text, strlen(text));
  (void)ignored;
}

static void map_counts(void) {
  const char* path = getenv("MAILHOOK_MALLOC_COUNT_FILE");
  if (path == NULL || *path == '\0') {
    say("malloc_count: MAILHOOK_MALLOC_COUNT_FILE is not set; counting into memory nobody reads\n");
    return;
  }
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    say("malloc_count: cannot open MAILHOOK_MALLOC_COUNT_FILE; counting into memory nobody reads\n");
    return;
  }
  void* mapped = MAP_FAILED;
  if (ftruncate(fd, MAILHOOK_MALLOC_COUNT_FILE_BYTES) == 0) {
    mapped = mmap(NULL, MAILHOOK_MALLOC_COUNT_FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  close(fd);
  if (mapped == MAP_FAILED) {
    say("malloc_count: cannot map MAILHOOK_MALLOC_COUNT_FILE; counting into memory nobody reads\n");
    return;
  }
  uint64_t* shared = mapped;
  /* Start from zero, carrying over what was counted before the mapping (the loader's
     first allocations); the magic goes last, so a reader that sees it sees the rest. */
  for (int k = 0; k < MAILHOOK_MALLOC_COUNT_KINDS; ++k) {
    __atomic_store_n(mailhook_malloc_count_slot(shared, k),
                     __atomic_load_n(mailhook_malloc_count_slot(slots, k), __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
  }
  __atomic_store_n(&shared[1], (uint64_t)getpid(), __ATOMIC_RELAXED);
  __atomic_store_n(&shared[0], MAILHOOK_MALLOC_COUNT_MAGIC, __ATOMIC_RELEASE);
  slots = shared;
}

/* The next definition of `name` (libc's). POSIX lets dlsym's object pointer stand for a
   function; ISO C has no conversion between the two, hence the copy. */
static void next_symbol(const char* name, void* out, size_t size) {
  void* symbol = dlsym(RTLD_NEXT, name);
  memcpy(out, &symbol, size);
}

static void resolve(void) {
  if (real_malloc != NULL || resolving) return;
  resolving = 1;
  malloc_fn found = NULL;
  next_symbol("malloc", &found, sizeof found);
  next_symbol("calloc", &real_calloc, sizeof real_calloc);
  next_symbol("realloc", &real_realloc, sizeof real_realloc);
  next_symbol("free", &real_free, sizeof real_free);
  next_symbol("posix_memalign", &real_posix_memalign, sizeof real_posix_memalign);
  next_symbol("aligned_alloc", &real_aligned_alloc, sizeof real_aligned_alloc);
  next_symbol("memalign", &real_memalign, sizeof real_memalign);
  if (found == NULL || real_calloc == NULL || real_realloc == NULL || real_free == NULL ||
      real_posix_memalign == NULL || real_aligned_alloc == NULL || real_memalign == NULL) {
    say("malloc_count: dlsym(RTLD_NEXT) did not find the allocation functions\n");
    abort();
  }
  map_counts();
  /* Last: the other functions take a non-null real_malloc as "resolved". */
  __atomic_store_n(&real_malloc, found, __ATOMIC_RELEASE);
  resolving = 0;
}

static void count(int kind) {
  __atomic_fetch_add(mailhook_malloc_count_slot(slots, kind), 1, __ATOMIC_RELAXED);
}

void* malloc(size_t size) {
  if (real_malloc == NULL) {
    resolve();
    if (real_malloc == NULL) return bootstrap_alloc(size);
  }
  count(mailhook_malloc_kind_malloc);
  return real_malloc(size);
}

void* calloc(size_t n, size_t size) {
  if (real_malloc == NULL) {
    resolve();
    if (real_malloc == NULL) {
      /* Inside dlsym: the static buffer is zero and never reused. */
      if (size != 0 && n > SIZE_MAX / size) return NULL;
      return bootstrap_alloc(n * size);
    }
  }
  count(mailhook_malloc_kind_calloc);
  return real_calloc(n, size);
}

void* realloc(void* p, size_t size) {
  if (real_malloc == NULL) {
    resolve();
    if (real_malloc == NULL) {
      void* moved = bootstrap_alloc(size);
      if (moved != NULL && p != NULL) {
        size_t room = (size_t)(bootstrap + sizeof bootstrap - (unsigned char*)p);
        memcpy(moved, p, size < room ? size : room);
      }
      return moved;
    }
  }
  count(mailhook_malloc_kind_realloc);
  if (in_bootstrap(p)) {
    /* Its old size is unknown: copy what fits, never past the buffer. */
    void* moved = real_malloc(size);
    if (moved != NULL) {
      size_t room = (size_t)(bootstrap + sizeof bootstrap - (unsigned char*)p);
      memcpy(moved, p, size < room ? size : room);
    }
    return moved;
  }
  return real_realloc(p, size);
}

void free(void* p) {
  if (p == NULL || in_bootstrap(p)) return;
  if (real_free == NULL) resolve();
  if (real_free != NULL) real_free(p); /* else: freed while resolving; leaked, harmlessly */
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (real_malloc == NULL) resolve();
  count(mailhook_malloc_kind_posix_memalign);
  return real_posix_memalign(out, alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) {
  if (real_malloc == NULL) resolve();
  count(mailhook_malloc_kind_aligned_alloc);
  return real_aligned_alloc(alignment, size);
}

void* memalign(size_t alignment, size_t size) {
  if (real_malloc == NULL) resolve();
  count(mailhook_malloc_kind_memalign);
  return real_memalign(alignment, size);
}
