/// How keys are drawn from the range.
public enum KeyDistribution: String, Sendable, CaseIterable {
    /// Every key in the range equally likely.
    case uniform
    /// Zipf over ranks, rank 0 hottest; ranks are scattered over the range by
    /// `RankPermutation` so the hot keys are not neighbours.
    case zipf
}

/// Draws key numbers in `range` with the chosen distribution. A value type with no shared
/// state: each client copies it and draws with its own generator.
public struct KeyChooser: Sendable {
    public let range: Range<Int>
    private let zipf: ZipfGenerator?
    private let permutation: RankPermutation?

    public init(range: Range<Int>, distribution: KeyDistribution, zipfExponent: Double) {
        precondition(!range.isEmpty, "empty key range")
        self.range = range
        switch distribution {
        case .uniform:
            zipf = nil
            permutation = nil
        case .zipf:
            zipf = ZipfGenerator(count: range.count, exponent: zipfExponent)
            permutation = RankPermutation(count: range.count)
        }
    }

    /// The next key number.
    @inlinable
    public func next(using rng: inout SplitMix64) -> Int {
        range.lowerBound + offset(using: &rng)
    }

    @usableFromInline
    func offset(using rng: inout SplitMix64) -> Int {
        if let zipf, let permutation {
            return permutation.apply(zipf.next(using: &rng))
        }
        return rng.below(range.count)
    }
}

/// Parses `a:b` into `a..<b`.
public func parseKeyRange(_ text: String) -> Range<Int>? {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, a < b else { return nil }
    return a..<b
}
