/*
 Zipf rank r is not key number r: the hottest keys would then be key:0, key:1, ...,
 adjacent in every ordered structure and clustered wherever the server's hash happens to
 map small numbers. A fixed bijection of 0..<n spreads them over the key space instead.

 Construction: round n up to 2^k, apply a bijection of k-bit integers (adding a constant,
 xor-shift-right and multiplying by an odd constant, all modulo 2^k, are each invertible,
 so their composition is), and "cycle-walk": if the result is >= n, apply the bijection again until it falls in
 range. Cycle-walking keeps a bijection of 0..<n (each cycle of the k-bit permutation is
 walked in order), and since n > 2^(k-1), fewer than two steps are needed on average.
 Fixed constants: the mapping is the same in every process and every run.
*/

/// A fixed, cheap bijection of `0..<count`.
public struct RankPermutation: Sendable {
    public let count: Int
    @usableFromInline let bits: UInt64
    @usableFromInline let mask: UInt64

    public init(count: Int) {
        precondition(count > 0)
        self.count = count
        var k: UInt64 = 0
        while (UInt64(1) << k) < UInt64(count) { k += 1 }
        bits = k
        mask = k == 64 ? ~0 : (UInt64(1) << k) &- 1
    }

    /// The image of `rank` (in 0..<count).
    @inlinable
    public func apply(_ rank: Int) -> Int {
        if bits < 2 { return rank }
        var x = UInt64(rank)
        repeat { x = scramble(x) } while x >= UInt64(count)
        return Int(x)
    }

    @inlinable
    func scramble(_ v: UInt64) -> UInt64 {
        let half = (bits + 1) / 2
        // The addition keeps 0 from being a fixed point (multiplications and xor-shifts all
        // map 0 to 0, which would make rank 0 key 0).
        var x = (v &+ 0x632B_E59B_D9B4_E019) & mask
        x = (x &* 0x9E37_79B9_7F4A_7C15) & mask
        x ^= x >> half
        x = (x &* 0xD6E8_FEB8_6659_FD93) & mask
        x ^= x >> half
        x = (x &* 0xA076_1D64_78BD_642F) & mask
        return x
    }
}
