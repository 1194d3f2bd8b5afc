import LoadSupport
import NIOCore

/*
 Requests are written straight into the batch's ByteBuffer as RESP arrays of bulk
 strings (what redis-cli sends), key names and values generated in place: no String and
 no intermediate array per request, so the generator stays cheaper than the server.
*/
extension ByteBuffer {
    /// `GET key:<n>`.
    mutating func writeGET(key n: Int, format: KeyFormat) {
        writeStaticString("*2\r\n$3\r\nGET\r\n")
        writeKey(n, format: format)
    }

    /// `SET key:<n> <deterministic value of n>`.
    mutating func writeSET(key n: Int, format: KeyFormat, valueSize: Int) {
        writeStaticString("*3\r\n$3\r\nSET\r\n")
        writeKey(n, format: format)
        writeBulkHeader(valueSize)
        writeWithUnsafeMutableBytes(minimumWritableBytes: valueSize) { dst in
            DeterministicValue.fill(key: n, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<valueSize]))
            return valueSize
        }
        writeStaticString("\r\n")
    }

    private mutating func writeKey(_ n: Int, format: KeyFormat) {
        let length = format.length(of: n)
        writeBulkHeader(length)
        writeWithUnsafeMutableBytes(minimumWritableBytes: length) { dst in format.write(n, to: dst) }
        writeStaticString("\r\n")
    }

    /// `$<length>\r\n`.
    private mutating func writeBulkHeader(_ length: Int) {
        writeInteger(UInt8(ascii: "$"))
        let digits = decimalDigits(length)
        writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { dst in
            var v = length
            var i = digits - 1
            repeat {
                dst[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
                i -= 1
            } while v > 0
            return digits
        }
        writeStaticString("\r\n")
    }
}
