#ifndef STRATA_SHIMS_H
#define STRATA_SHIMS_H
#include <stddef.h>

/// Bytes in use by malloc (glibc mallinfo2: in-use chunks plus mmapped blocks).
size_t strata_malloc_used_bytes(void);

#endif
