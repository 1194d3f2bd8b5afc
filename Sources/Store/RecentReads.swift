/*
 The memory of `tiering-promote second-touch`: which cold keys were read lately, and when.

 A direct-mapped table of 8-byte entries (32 bits of the key's hash, the read's time in
 seconds), sized from maxmemory: it lives in the execution thread's memory, which
 maxmemory limits, so it must not take a real share of a small limit. (It was a
 Dictionary of up to 65 536 entries, 2 MB kept for ever: under a 4 MB maxmemory, writes
 got -OOM with no key left in RAM.) Two keys that fall on one entry push each other out,
 so a second read is sometimes not recognised: the key is then promoted on a later one.
*/
struct RecentReads {
    private var entries: [UInt64]
    private let mask: Int

    /// About 1/256 of `maxmemory` (0: no limit), between 1 024 and 65 536 entries.
    init(maxmemory: Int) {
        let budget = maxmemory > 0 ? maxmemory / 256 / 8 : 65536
        var count = 1024
        while count < budget && count < 65536 { count *= 2 }
        entries = [UInt64](repeating: 0, count: count)
        mask = count - 1
    }

    /// Records a read of the key with `hash` at `nowMillis`; returns true when it is the
    /// second within `windowSeconds` (the entry is then cleared).
    mutating func secondTouch(hash: UInt64, nowMillis: Int64, windowSeconds: Int) -> Bool {
        let index = Int(truncatingIfNeeded: hash) & mask
        let tag = UInt32(truncatingIfNeeded: hash >> 32) | 1  // never 0: 0 is an empty entry
        let now = UInt32(truncatingIfNeeded: nowMillis / 1000)
        let entry = entries[index]
        if UInt32(truncatingIfNeeded: entry >> 32) == tag,
           now &- UInt32(truncatingIfNeeded: entry) <= UInt32(clamping: windowSeconds) {
            entries[index] = 0
            return true
        }
        entries[index] = UInt64(tag) << 32 | UInt64(now)
        return false
    }
}
