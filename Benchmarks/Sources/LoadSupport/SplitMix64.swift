/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, statistically good generator. Each
/// client or thread owns one, seeded differently, so no generator is shared across threads
/// and runs are reproducible for a given seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    @inlinable
    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, bound) (Lemire's multiply-shift; the bias for bounds far below 2^64
    /// is negligible for benchmarking).
    @inlinable
    public mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public mutating func unitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
