/*
 Per-key access metadata, kept in 24 bits of each slot as Redis keeps it in `robj.lru`:

 - LRU policies: the LRU clock (seconds, wrapping at 2^24) of the last access.
 - LFU policies: 16 bits of "last decrement time" in minutes and an 8-bit logarithmic
   counter (Redis's evict.c: the counter grows with probability 1/((c - 5) * factor + 1)
   and decays by one per `lfu-decay-time` minutes). New keys start at 5 so that they are
   not evicted before they had a chance to be accessed again.

 The top 8 bits of the metadata word are flags (`KeyFlags`).
*/
public enum AccessTracking {
    /// Initial LFU counter of a new key (Redis's LFU_INIT_VAL).
    public static let lfuInitialCounter: UInt32 = 5
    public static let lruMask: UInt32 = 0xFF_FFFF

    /// The LRU clock for `nowMillis`: seconds, 24 bits.
    @inlinable
    public static func lruClock(nowMillis: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: nowMillis / 1000) & 0xFF_FFFF
    }

    /// Minutes, 16 bits, for the LFU decrement time.
    @inlinable
    public static func lfuMinutes(nowMillis: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: nowMillis / 60000) & 0xFFFF
    }

    /// Seconds since the access recorded in `meta` (LRU mode).
    public static func idleSeconds(meta: UInt32, nowMillis: Int64) -> Int {
        let now = lruClock(nowMillis: nowMillis)
        let then = meta & lruMask
        return Int(now >= then ? now - then : (lruMask - then) + now)
    }

    /// The LFU counter after decay (without recording an access).
    public static func lfuDecayedCounter(meta: UInt32, nowMillis: Int64, decayMinutes: Int) -> UInt32 {
        let lastMinutes = (meta >> 8) & 0xFFFF
        let counter = meta & 0xFF
        let now = lfuMinutes(nowMillis: nowMillis)
        let elapsed = now >= lastMinutes ? now - lastMinutes : 65535 - lastMinutes + now
        let periods = decayMinutes > 0 ? elapsed / UInt32(decayMinutes) : 0
        return periods > counter ? 0 : counter - periods
    }

    /// The metadata of a key created now.
    @inlinable
    public static func initialMeta(nowMillis: Int64, lfu: Bool) -> UInt32 {
        lfu ? (lfuMinutes(nowMillis: nowMillis) << 8) | lfuInitialCounter : lruClock(nowMillis: nowMillis)
    }

    /// The metadata after an access at `nowMillis`; flags are kept.
    @inlinable
    public static func touched(meta: UInt32, nowMillis: Int64, lfu: Bool, logFactor: Int, decayMinutes: Int) -> UInt32 {
        let flags = meta & ~lruMask
        if !lfu { return flags | lruClock(nowMillis: nowMillis) }
        var counter = lfuDecayedCounter(meta: meta, nowMillis: nowMillis, decayMinutes: decayMinutes)
        if counter < 255 {
            let base = Double(counter > lfuInitialCounter ? counter - lfuInitialCounter : 0)
            let probability = 1.0 / (base * Double(logFactor) + 1)
            if Double.random(in: 0..<1, using: &FastRandom.shared) < probability { counter += 1 }
        }
        return flags | (lfuMinutes(nowMillis: nowMillis) << 8) | counter
    }
}

/// Flags in the top byte of a key's metadata.
public enum KeyFlags {
    /// The string was modified in place (APPEND, SETRANGE, SETBIT...): OBJECT ENCODING says
    /// "raw" whatever its length, as Redis does.
    public static let rawString: UInt32 = 1 << 24
    /// RocksDB holds a copy of this key (perhaps older): it is deleted with the key.
    public static let diskCopy: UInt32 = 1 << 25
    /// The RocksDB copy equals the value in RAM: demoting the key costs no write.
    public static let clean: UInt32 = 1 << 26
    /// The key is in a demotion batch being written; it leaves RAM when the batch is
    /// written, unless it changed meanwhile.
    public static let demoting: UInt32 = 1 << 27
    /// Loaded from RocksDB for one command that does not promote (inspection, or reads
    /// under `tiering-promote never`): it goes back to the cold tier after the command.
    public static let transient: UInt32 = 1 << 28
    /// Read back for a command that is still waiting (for other keys): it stays in RAM
    /// until that command has run (ColdTier.pins).
    public static let pinned: UInt32 = 1 << 29
    /// The key's record is shared with a demotion batch being written (DemotionBatch): it
    /// is neither edited in place nor freed until the batch commits. Set with `demoting`.
    public static let inBatch: UInt32 = 1 << 30
    /// The flags that describe a key's place in the tiers, not its value.
    public static let tierFlags: UInt32 = diskCopy | clean | demoting | transient | pinned | inBatch
}
