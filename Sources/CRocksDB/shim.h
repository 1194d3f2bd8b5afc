// RocksDB's C API (Debian: librocksdb-dev). Only the cold tier imports this module.
#include <rocksdb/c.h>
