/*
 The memory of `tiering-promote second-touch`: which cold keys were read lately, and when.

 A table of 8-byte entries (32 bits of the key's hash, the read's time in seconds), sized
 from maxmemory: it lives in the execution thread's memory, which maxmemory limits, so it
 must not take a real share of a small limit. (It was a Dictionary of up to 65 536
 entries, 2 MB kept for ever: under a 4 MB maxmemory, writes got -OOM with no key left in
 RAM.) The table is 4-way set-associative: a key can sit in any of the 4 entries of its
 bucket, and a new read replaces the oldest one. (Direct-mapped, two of 200 keys read
 twice shared an entry one time in four, and one of them was then not promoted.) When
 more than 4 recent keys share a bucket the oldest is forgotten: its second read is not
 recognised and the key is promoted on a later one.
*/
struct RecentReads {
    private static let ways = 4
    private var entries: [UInt64]
    private let bucketMask: Int

    /// About 1/256 of `maxmemory` (0: no limit), between 1 024 and 65 536 entries.
    init(maxmemory: Int) {
        let budget = maxmemory > 0 ? maxmemory / 256 / 8 : 65536
        var count = 1024
        while count < budget && count < 65536 { count *= 2 }
        entries = [UInt64](repeating: 0, count: count)
        bucketMask = count / Self.ways - 1
    }

    /// Records a read of the key with `hash` at `nowMillis`; returns true when it is the
    /// second within `windowSeconds` (the entry is then cleared).
    mutating func secondTouch(hash: UInt64, nowMillis: Int64, windowSeconds: Int) -> Bool {
        let first = (Int(truncatingIfNeeded: hash) & bucketMask) * Self.ways
        let tag = UInt32(truncatingIfNeeded: hash >> 32) | 1  // never 0: 0 is an empty entry
        let now = UInt32(truncatingIfNeeded: nowMillis / 1000)
        var oldest = first
        var oldestAge: UInt32 = 0
        for index in first..<first + Self.ways {
            let entry = entries[index]
            let age = now &- UInt32(truncatingIfNeeded: entry)
            if UInt32(truncatingIfNeeded: entry >> 32) == tag {
                if age <= UInt32(clamping: windowSeconds) {
                    entries[index] = 0
                    return true
                }
                oldest = index  // the same key read long ago: renew its entry
                break
            }
            if entry == 0 {
                oldestAge = .max
                oldest = index
            } else if age >= oldestAge {
                oldestAge = age
                oldest = index
            }
        }
        entries[oldest] = UInt64(tag) << 32 | UInt64(now)
        return false
    }
}
