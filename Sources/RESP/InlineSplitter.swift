import NIOCore

/// Splits an inline request line into words with the quoting rules of Redis's
/// `sdssplitargs`: words separated by blanks; "double quotes" understand \n \r \t \b \a
/// \\ \" and \xHH; 'single quotes' understand \'; a closing quote must be followed by a
/// blank or the end of the line, otherwise the line is malformed.
public enum InlineSplitter {
    public struct Words {
        /// The unquoted words, back to back.
        public var storage: ByteBuffer
        /// Each word's range in `storage`.
        public var ranges: [Range<Int>]
    }

    /// Returns nil when quotes are unbalanced.
    public static func split(_ line: ByteBuffer) -> Words? {
        let bytes = line.readableBytesView
        var storage = ByteBufferAllocator().buffer(capacity: bytes.count)
        var ranges: [Range<Int>] = []
        var i = bytes.startIndex
        let end = bytes.endIndex
        func isBlank(_ c: UInt8) -> Bool {
            c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == 0x0B || c == 0x0C || c == 0
        }
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        while true {
            while i < end && isBlank(bytes[i]) { i += 1 }
            if i >= end { break }
            let wordStart = storage.writerIndex
            var inDouble = false, inSingle = false
            wordLoop: while true {
                if inDouble {
                    guard i < end else { return nil }
                    let c = bytes[i]
                    if c == UInt8(ascii: "\\") && i + 3 < end && bytes[i + 1] == UInt8(ascii: "x"),
                       let hi = hexValue(bytes[i + 2]), let lo = hexValue(bytes[i + 3]) {
                        storage.writeInteger(hi << 4 | lo)
                        i += 3
                    } else if c == UInt8(ascii: "\\") && i + 1 < end {
                        i += 1
                        let e = bytes[i]
                        switch e {
                        case UInt8(ascii: "n"): storage.writeInteger(UInt8(0x0A))
                        case UInt8(ascii: "r"): storage.writeInteger(UInt8(0x0D))
                        case UInt8(ascii: "t"): storage.writeInteger(UInt8(0x09))
                        case UInt8(ascii: "b"): storage.writeInteger(UInt8(0x08))
                        case UInt8(ascii: "a"): storage.writeInteger(UInt8(0x07))
                        default: storage.writeInteger(e)
                        }
                    } else if c == UInt8(ascii: "\"") {
                        // The closing quote must be followed by a blank or the end.
                        if i + 1 < end && !isBlank(bytes[i + 1]) { return nil }
                        i += 1
                        break wordLoop
                    } else {
                        storage.writeInteger(c)
                    }
                    i += 1
                } else if inSingle {
                    guard i < end else { return nil }
                    let c = bytes[i]
                    if c == UInt8(ascii: "\\") && i + 1 < end && bytes[i + 1] == UInt8(ascii: "'") {
                        i += 1
                        storage.writeInteger(UInt8(ascii: "'"))
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < end && !isBlank(bytes[i + 1]) { return nil }
                        i += 1
                        break wordLoop
                    } else {
                        storage.writeInteger(c)
                    }
                    i += 1
                } else {
                    guard i < end else { break wordLoop }
                    let c = bytes[i]
                    if isBlank(c) { break wordLoop }
                    if c == UInt8(ascii: "\"") { inDouble = true }
                    else if c == UInt8(ascii: "'") { inSingle = true }
                    else { storage.writeInteger(c) }
                    i += 1
                }
            }
            ranges.append(wordStart..<storage.writerIndex)
        }
        return Words(storage: storage, ranges: ranges)
    }
}
