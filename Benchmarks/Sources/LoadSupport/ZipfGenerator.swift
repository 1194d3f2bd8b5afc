import Foundation

/*
 Zipf-distributed ranks by rejection-inversion (W. Hörmann, G. Derflinger, "Rejection-
 inversion to generate variates from monotone discrete distributions", ACM TOMACS 1996),
 the method of Apache Commons RNG's RejectionInversionZipfSampler, which this follows.

 Why this method: it needs O(1) set-up and O(1) expected time per sample, with no table
 and no zeta(n) sum, so 10 M (or 10 G) ranks cost nothing up front; the expected number
 of rejections is tiny for any exponent. P(rank k) is proportional to 1/(k+1)^s for k in
 0..<n; rank 0 is the hottest.

 h(x) = x^-s is the (continuous) hat; H is its integral, computed through helper1/helper2
 so that s near 1 does not lose precision (log1p/expm1 with series fallbacks).
*/

/// Draws Zipf ranks in `0..<count` with exponent `s` (> 0).
public struct ZipfGenerator: Sendable {
    public let count: Int
    public let exponent: Double
    private let hIntegralX1: Double
    private let hIntegralCount: Double
    private let squeeze: Double

    public init(count: Int, exponent: Double) {
        precondition(count > 0 && exponent > 0, "zipf needs count > 0 and s > 0")
        self.count = count
        self.exponent = exponent
        hIntegralX1 = Self.hIntegral(1.5, exponent) - 1
        hIntegralCount = Self.hIntegral(Double(count) + 0.5, exponent)
        squeeze = 2 - Self.hIntegralInverse(Self.hIntegral(2.5, exponent) - Self.h(2, exponent), exponent)
    }

    /// One rank in 0..<count.
    public func next(using rng: inout SplitMix64) -> Int {
        while true {
            // u is uniform in (hIntegralX1, hIntegralCount].
            let u = hIntegralCount + rng.unitDouble() * (hIntegralX1 - hIntegralCount)
            let x = Self.hIntegralInverse(u, exponent)
            var k = Int(x + 0.5)
            if k < 1 { k = 1 } else if k > count { k = count }
            // Accept immediately inside the squeeze, otherwise compare with the exact area.
            if Double(k) - x <= squeeze || u >= Self.hIntegral(Double(k) + 0.5, exponent) - Self.h(Double(k), exponent) {
                return k - 1
            }
        }
    }

    private static func h(_ x: Double, _ s: Double) -> Double { exp(-s * log(x)) }

    private static func hIntegral(_ x: Double, _ s: Double) -> Double {
        let logX = log(x)
        return helper2((1 - s) * logX) * logX
    }

    private static func hIntegralInverse(_ x: Double, _ s: Double) -> Double {
        var t = x * (1 - s)
        if t < -1 { t = -1 }  // rounding guard: the argument of log1p must stay >= -1
        return exp(helper1(t) * x)
    }

    /// log1p(x) / x, continuous at 0.
    private static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }

    /// expm1(x) / x, continuous at 0.
    private static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3.0) * (1 + 0.25 * x))
    }
}
