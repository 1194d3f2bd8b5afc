#include "shims.h"
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <jemalloc/jemalloc.h>

// Strata links jemalloc (as Redis does): its size classes keep fragmentation, and so
// RSS, close to what is allocated, and its statistics are cheap to read. glibc's
// mallinfo2 walks every free chunk and took tens of milliseconds on a large heap.
// jemalloc reads this at start-up:
// - one automatic arena for every thread but the execution thread (which gets its own,
//   see strata_use_own_arena), and dirty pages returned after a second: RocksDB's and the
//   I/O threads' short-lived buffers would otherwise hold RSS in many arenas (measured:
//   176 MB RSS for 64 MB maxmemory with the defaults, 134 MB with these);
// - no transparent huge pages: they sped up random GETs on a large heap a little, but a
//   huge page stays resident while any of it is used, and under demotion RSS went past
//   maxmemory's bound (165 MB against 154 MB; 131-137 MB without them).
const char *malloc_conf = "narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0";

size_t strata_malloc_used_bytes(void) {
    uint64_t epoch = 1;
    size_t size = sizeof(epoch);
    mallctl("epoch", &epoch, &size, &epoch, size);  // refresh the cached statistics
    size_t allocated = 0;
    size = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &size, NULL, 0) != 0) return 0;
    return allocated;
}

static _Atomic int strata_own_arena = -1;
static _Thread_local int strata_this_thread_has_own_arena = 0;

int strata_thread_has_own_arena(void) { return strata_this_thread_has_own_arena; }

int strata_use_own_arena(void) {
    unsigned arena = 0;
    size_t size = sizeof(arena);
    if (mallctl("arenas.create", &arena, &size, NULL, 0) != 0) return -1;
    if (mallctl("thread.arena", NULL, NULL, &arena, sizeof(arena)) != 0) return -1;
    atomic_store(&strata_own_arena, (int)arena);
    strata_this_thread_has_own_arena = 1;
    return 0;
}

size_t strata_own_arena_allocated_bytes(void) {
    int arena = atomic_load(&strata_own_arena);
    if (arena < 0) return 0;
    char name[64];
    size_t small = 0, large = 0, size = sizeof(size_t);
    snprintf(name, sizeof(name), "stats.arenas.%d.small.allocated", arena);
    if (mallctl(name, &small, &size, NULL, 0) != 0) return 0;
    size = sizeof(size_t);
    snprintf(name, sizeof(name), "stats.arenas.%d.large.allocated", arena);
    if (mallctl(name, &large, &size, NULL, 0) != 0) return 0;
    return small + large;
}

int strata_enter_own_arena(void) {
    int own = atomic_load(&strata_own_arena);
    if (own < 0) return -1;
    unsigned previous = 0, arena = (unsigned)own;
    size_t size = sizeof(previous);
    if (mallctl("thread.arena", &previous, &size, &arena, sizeof(arena)) != 0) return -1;
    strata_flush_thread_cache();  // its blocks came from the other arena
    return (int)previous;
}

void strata_leave_own_arena(int previous) {
    if (previous < 0) return;
    strata_flush_thread_cache();
    unsigned arena = (unsigned)previous;
    mallctl("thread.arena", NULL, NULL, &arena, sizeof(arena));
}

void strata_flush_thread_cache(void) {
    mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
}

size_t strata_malloc_resident_bytes(void) {
    size_t resident = 0;
    size_t size = sizeof(resident);
    if (mallctl("stats.resident", &resident, &size, NULL, 0) != 0) return 0;
    return resident;
}

// Bytes of keyspace tables mapped outside the allocator (see TableMemory.swift); part of
// used_memory. Changed from the execution thread and from background release threads.
static _Atomic long strata_table_bytes_total = 0;

void strata_table_bytes_add(long delta) {
    atomic_fetch_add_explicit(&strata_table_bytes_total, delta, memory_order_relaxed);
}

long strata_table_bytes(void) {
    return atomic_load_explicit(&strata_table_bytes_total, memory_order_relaxed);
}

// Large collections being freed on a background queue (OwnedValue.release): memory that
// is about to drop, so a write over maxmemory waits for it rather than getting -OOM.
static _Atomic long strata_releasing_objects_total = 0;

void strata_releasing_objects_add(long delta) {
    atomic_fetch_add_explicit(&strata_releasing_objects_total, delta, memory_order_relaxed);
}

long strata_releasing_objects(void) {
    return atomic_load_explicit(&strata_releasing_objects_total, memory_order_relaxed);
}

// MARK: - CRC-32C

static unsigned int crc32c_table[256];

// Built before main, so that threads never race to build it.
__attribute__((constructor))
static void crc32c_build_table(void) {
    for (unsigned int i = 0; i < 256; i++) {
        unsigned int c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[i] = c;
    }
}

static unsigned int crc32c_software(unsigned int crc, const unsigned char *p, size_t n) {
    while (n--) crc = crc32c_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
#include <string.h>
__attribute__((target("sse4.2")))
static unsigned int crc32c_hardware(unsigned int crc, const unsigned char *p, size_t n) {
    unsigned long long c = crc;
    while (n >= 8) {
        unsigned long long word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    unsigned int c32 = (unsigned int)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

unsigned int strata_crc32c(unsigned int crc, const void *bytes, size_t length) {
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return ~crc32c_hardware(crc, bytes, length);
#endif
    return ~crc32c_software(crc, bytes, length);
}

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void strata_set_thread_nice(int nice) {
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

int strata_thread_nice(void) {
    return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

size_t strata_usable_size(void *block) {
    return malloc_usable_size(block);
}

size_t strata_size_class(size_t size) {
    return size == 0 ? 0 : nallocx(size, 0);
}

// MARK: - MEMORY command

#include <stdlib.h>
#include <string.h>

void strata_malloc_allocator_stats(size_t *allocated, size_t *active, size_t *resident) {
    const char *names[3] = {"stats.allocated", "stats.active", "stats.resident"};
    size_t *values[3] = {allocated, active, resident};
    for (int i = 0; i < 3; i++) {
        size_t size = sizeof(size_t);
        if (mallctl(names[i], values[i], &size, NULL, 0) != 0) *values[i] = 0;
    }
}

// A growing NUL-terminated buffer that malloc_stats_print writes its report into.
struct strata_text {
    char *bytes;
    size_t length;
    size_t capacity;
    int failed;
};

static void strata_text_append(void *opaque, const char *piece) {
    struct strata_text *text = opaque;
    size_t count = strlen(piece);
    if (text->failed) return;
    if (text->length + count + 1 > text->capacity) {
        size_t capacity = text->capacity * 2;
        while (capacity < text->length + count + 1) capacity *= 2;
        char *grown = realloc(text->bytes, capacity);
        if (grown == NULL) { text->failed = 1; return; }
        text->bytes = grown;
        text->capacity = capacity;
    }
    memcpy(text->bytes + text->length, piece, count + 1);
    text->length += count;
}

char *strata_malloc_stats_text(void) {
    struct strata_text text = {malloc(64 * 1024), 0, 64 * 1024, 0};
    if (text.bytes == NULL) return NULL;
    text.bytes[0] = '\0';
    malloc_stats_print(strata_text_append, &text, NULL);
    if (text.failed) {
        free(text.bytes);
        return NULL;
    }
    return text.bytes;
}

int strata_malloc_purge(void) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
    return mallctl(name, NULL, NULL, NULL, 0);
}
