/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, statistically good generator. Each
/// client or thread owns one, seeded differently, so no generator is shared across threads
/// and runs are reproducible for a given seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    @inlinable
    public init(seed: UInt64) { state = seed }

    /// The seed of stream `index` of a run seeded with `seed`. Hashed, not added: a state
    /// moves by the golden gamma at each draw, so seeds a multiple of it apart (the old
    /// `seed * gamma + index`) gave every run the same key sequence shifted by a draw or
    /// two, and a "fresh" zipf run replayed the keys the previous one had made hot.
    public static func streamSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
        var mixer = SplitMix64(seed: seed)
        let base = mixer.next()
        var stream = SplitMix64(seed: base ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        return stream.next()
    }

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
