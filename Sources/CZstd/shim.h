// zstd's C API (Debian: libzstd-dev). Used by the value codec to compress large payloads.
#include <zstd.h>
