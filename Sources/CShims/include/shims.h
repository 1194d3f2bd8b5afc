#ifndef STRATA_SHIMS_H
#define STRATA_SHIMS_H
#include <stddef.h>
#include "sockets.h"

/// Bytes allocated by the application (jemalloc stats.allocated, refreshed on each call).
size_t strata_malloc_used_bytes(void);

/// Bytes in physically resident pages the allocator maps (jemalloc stats.resident, as of
/// the last strata_malloc_used_bytes call).
size_t strata_malloc_resident_bytes(void);

/// Gives the calling thread (the execution thread) a jemalloc arena of its own, so that
/// its allocations (keys, values, indexes, client buffers) can be told apart from those of
/// RocksDB and the background threads. Returns 0 on success.
int strata_use_own_arena(void);

/// 1 on the thread that called strata_use_own_arena successfully, else 0.
int strata_thread_has_own_arena(void);

/// Bytes allocated from the arena of strata_use_own_arena (0 before it was called), as
/// of the last strata_malloc_used_bytes call.
size_t strata_own_arena_allocated_bytes(void);

/// Makes the calling thread (not the execution thread) allocate from the execution
/// thread's arena until strata_leave_own_arena: what it builds for the keyspace counts
/// toward maxmemory. Returns the arena to go back to (-1: nothing changed).
int strata_enter_own_arena(void);
void strata_leave_own_arena(int previous);

/// Returns the calling thread's cached free blocks to its arena: jemalloc counts them as
/// allocated until then (measured: megabytes after bursts of large replies).
void strata_flush_thread_cache(void);
/// The bytes a block from malloc can hold (its size class, at least what was asked).
size_t strata_usable_size(void *block);
/// The block size malloc would hand out for `size` bytes (its size class; no allocation).
size_t strata_size_class(size_t size);

/// Adds `delta` to the count of bytes in directly mapped keyspace tables.
void strata_table_bytes_add(long delta);
void strata_releasing_objects_add(long delta);
long strata_releasing_objects(void);

/// Bytes in directly mapped keyspace tables.
long strata_table_bytes(void);

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start): the
/// checksum of every append-only log record. Uses SSE4.2's crc32 instruction when the CPU
/// has it, else a table.
unsigned int strata_crc32c(unsigned int crc, const void *bytes, size_t length);

/// Sets the calling thread's nice value (Linux applies nice values per thread).
void strata_set_thread_nice(int nice);

/// The calling thread's nice value.
int strata_thread_nice(void);

/// Asks the CPU to start loading the cache line at `address` (no fault if it is invalid).
static inline void strata_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// jemalloc's stats.allocated, stats.active and stats.resident, as of the last
/// strata_malloc_used_bytes call (MEMORY STATS).
void strata_malloc_allocator_stats(size_t *allocated, size_t *active, size_t *resident);

/// jemalloc's statistics report (malloc_stats_print) as a NUL-terminated string, which the
/// caller frees with free(); NULL when memory ran out (MEMORY MALLOC-STATS).
char *strata_malloc_stats_text(void);

/// Returns the dirty pages of every arena to the system (MEMORY PURGE). 0 on success.
int strata_malloc_purge(void);

#endif
