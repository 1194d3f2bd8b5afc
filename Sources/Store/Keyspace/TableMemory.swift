#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CShims
import Dispatch

/*
 Memory for keyspace tables. Small tables come from calloc. Large ones are mapped
 directly: fresh anonymous pages are zero (no initialisation, whatever the size), and
 they are given back in the background in slices: unmapping hundreds of MB at
 once holds the process's memory-map lock for tens of milliseconds, and the execution
 thread's page faults wait behind it (measured: a 20 ms pause at the end of a resize at
 3.2 M keys). Dropping the pages slice by slice with MADV_DONTNEED only takes that lock
 for reading, and the final munmap of an emptied range is quick.

 Tables do not ask for transparent huge pages (MADV_HUGEPAGE): with the kernel's default
 `defrag=madvise`, faulting in huge pages of a fresh 512 MB table compacted memory
 synchronously and held the event loop for 0.9 s while growing to 10 M keys (measured with
 Benchmarks/growth-latency.sh; 32 ms worst case without it).
*/
enum TableMemory {
    /// Tables at least this large are mapped directly.
    static let mappedThreshold = 2 << 20
    /// Bytes released per step when giving a large table back.
    static let releaseSliceBytes = 8 << 20
    private static let releaseQueue = DispatchQueue(label: "strata.table-release", qos: .utility)

    /// Zeroed memory for `bytes` bytes.
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        guard bytes >= mappedThreshold else { return calloc(1, bytes)! }
        guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else {
            fatalError("out of memory mapping a \(bytes)-byte keyspace table")
        }
        strata_table_bytes_add(bytes)
        return raw
    }

    /// Gives memory from `allocate` back. Large tables are released on a background queue.
    static func release(_ raw: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= mappedThreshold else { return free(raw) }
        let address = UInt(bitPattern: raw)
        releaseQueue.async {
            let base = UnsafeMutableRawPointer(bitPattern: address)!
            var offset = 0
            while offset < bytes {
                let length = min(releaseSliceBytes, bytes - offset)
                madvise(base + offset, length, MADV_DONTNEED)
                offset += length
            }
            munmap(base, bytes)
            strata_table_bytes_add(-bytes)
        }
    }
}
