/*
 Redis's reverse-binary SCAN cursor, for a table of 2^n buckets or, during a resize, two
 of them. The cursor counts with its bits reversed, so the buckets of a table that grew or
 shrank between two calls are the ones the smaller table's bucket spread to (or came
 from): an element present for the whole iteration is returned at least once. The keyspace
 and the large hashes and sets (FieldTable) both scan with it.
*/
enum ScanCursor {
    /// Emits the bucket(s) under `cursor` and returns the next cursor (0 once the iteration
    /// is complete). With one table (`largeMask` nil) `emit` gets `(false, bucket)`; during
    /// a resize it gets the smaller table's bucket as `(false, bucket)`, then every bucket of
    /// the larger table that it expands to as `(true, bucket)`.
    @inline(__always)
    static func step(_ cursor: UInt64, smallMask: Int, largeMask: Int?,
                     _ emit: (_ inLarge: Bool, _ bucket: Int) -> Void) -> UInt64 {
        var v = cursor
        let m0 = UInt64(smallMask)
        emit(false, Int(v & m0))
        guard let largeMask else {
            v |= ~m0
            v = v.bitReversed &+ 1
            return v.bitReversed
        }
        let m1 = UInt64(largeMask)
        repeat {
            emit(true, Int(v & m1))
            v |= ~m1
            v = v.bitReversed &+ 1
            v = v.bitReversed
        } while v & (m0 ^ m1) != 0
        return v
    }
}
