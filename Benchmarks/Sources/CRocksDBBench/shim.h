// RocksDB's C API (Debian: librocksdb-dev), for the rocksdb-gets reference benchmark.
#include <rocksdb/c.h>
