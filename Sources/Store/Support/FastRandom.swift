/*
 A fast pseudo-random generator for the execution thread (eviction sampling, RANDOMKEY,
 the LFU counter's coin). Swift's default generator asks the kernel (getrandom) on every
 call: a profile of demotion under load spent most of its time there. Nothing here needs
 unpredictability, only speed and a fair spread. SplitMix64, seeded once from the system
 generator.
*/
public struct FastRandom: RandomNumberGenerator {
    private var state: UInt64

    public init() { state = UInt64.random(in: 1...UInt64.max) }

    /// A fixed sequence (tests, so that failures reproduce).
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The execution thread's generator (only that thread may use it).
    nonisolated(unsafe) public static var shared = FastRandom()
}
