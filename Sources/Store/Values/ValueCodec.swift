import CZstd

/*
 The on-disk form of a value (what the cold tier stores in RocksDB).

     byte 0      format version = 1
     byte 1      type tag: 0 string, 1 list, 2 set, 3 zset, 4 hash, 5 stream
     byte 2      flags: bit 0 (0x01) = has expiry, bit 1 (0x02) = payload zstd-compressed,
                 bit 2 (0x04) = a string edited in place (OBJECT ENCODING says "raw"),
                 bit 3 (0x08) = has a change sequence; every other bit is 0
     [expiry]    8 bytes: expireAt, Unix milliseconds, Int64 little-endian  (only if 0x01)
     [sequence]  8 bytes: UInt64 little-endian (only if 0x08): the value holds every logged
                 change of sequence up to this one, and none after it (LogChange.swift;
                 replay skips a change the value already holds)
     [zstd]      4 bytes: uncompressed payload length, UInt32 little-endian (only if 0x02)
     payload     string: the raw bytes (one zstd frame of them if 0x02)
                 list, set, hash: a `PackedForm` byte (0 listpack, 1 intset), then that
                 form's bytes (Listpack.swift, IntSet.swift), checked on decode; 0x7F is
                 kept for a metadata-only payload whose elements are records of their own

 The rule: bytes already written must stay readable forever. Type tags and this layout never
 change meaning; a type that does not exist yet takes the next free tag, and a different
 layout gets a new version byte (decoders keep understanding every older version).

 The header (first 3 bytes, plus the expiry when present) is readable without touching the
 payload, so the compaction filter and SCAN/KEYS over cold keys can learn a value's type and
 expiry cheaply (`header(_:)`).
*/

/// Why bytes could not be decoded as a value.
public enum ValueCodecError: Error, Equatable, CustomStringConvertible {
    /// Fewer bytes than the header (or the header's optional fields) needs.
    case truncated
    /// Byte 0 is not a format version this build understands.
    case unknownVersion(UInt8)
    /// Byte 1 is not one of the fixed type tags.
    case unknownTypeTag(UInt8)
    /// Byte 1 is a valid tag for a type this build's `Value` cannot hold yet.
    case unsupportedType(UInt8)
    /// A collection's payload is not a packed form of its type (or is corrupt).
    case badPayload(UInt8)
    /// Byte 2 has bits set that the format does not define.
    case badFlags(UInt8)
    /// The declared uncompressed length is above `ValueCodec.maxUncompressedLength`.
    case lengthTooLarge(UInt32)
    /// zstd refused the payload.
    case decompressionFailed(String)
    /// The payload decompressed to a length other than the declared one.
    case lengthMismatch(declared: Int, actual: Int)

    public var description: String {
        switch self {
        case .truncated: return "value codec: truncated"
        case .unknownVersion(let v): return "value codec: unknown format version \(v)"
        case .unknownTypeTag(let t): return "value codec: unknown type tag \(t)"
        case .unsupportedType(let t): return "value codec: type tag \(t) is not supported by this build"
        case .badPayload(let t): return "value codec: malformed payload for type tag \(t)"
        case .badFlags(let f): return "value codec: undefined flag bits in \(f)"
        case .lengthTooLarge(let n): return "value codec: declared length \(n) is too large"
        case .decompressionFailed(let m): return "value codec: zstd: \(m)"
        case .lengthMismatch(let d, let a): return "value codec: declared length \(d), decompressed \(a)"
        }
    }
}

/// Encodes and decodes values in the versioned on-disk format documented above.
public enum ValueCodec {
    /// Format version written by `encode`.
    public static let version: UInt8 = 1

    /// Byte 1 of an encoding is a `ValueType`'s raw value; these are fixed for ever.
    static let tagString = ValueType.string.rawValue

    public static let flagExpiry: UInt8 = 0x01
    public static let flagCompressed: UInt8 = 0x02
    public static let flagRawEncoding: UInt8 = 0x04
    public static let flagSequence: UInt8 = 0x08
    static let knownFlags: UInt8 = flagExpiry | flagCompressed | flagRawEncoding | flagSequence

    /// Largest uncompressed length a compressed payload may declare. Redis caps a string at
    /// 512 MB; the cap also keeps garbage from making the decoder allocate gigabytes.
    public static let maxUncompressedLength = 512 << 20

    /// zstd level: 1 is the fastest, and values are compressed on the write path.
    static let compressionLevel: Int32 = 1

    // MARK: - Types

    /// The type tag stored for `value`.
    public static func typeTag(of value: Value) -> UInt8 { value.type.rawValue }

    /// The TYPE name of a tag, or nil for an unknown tag.
    public static func typeName(tag: UInt8) -> String? { ValueType(rawValue: tag)?.name }

    // MARK: - Encode

    /// The on-disk bytes of `value`. `expireAt` is Unix milliseconds, 0 for no expiry. The
    /// payload is zstd-compressed when `compressionThreshold > 0`, it is at least that long,
    /// and compression actually makes the encoding smaller.
    /// `rawEncoding` records that a string was edited in place (see `KeyFlags.rawString`).
    public static func encode(_ value: Value, expireAt: Int64, compressionThreshold: Int,
                              rawEncoding: Bool = false) -> [UInt8] {
        value.withPayload {
            encode(type: $0, payload: $1, expireAt: expireAt, compressionThreshold: compressionThreshold,
                   rawEncoding: rawEncoding)
        }
    }

    /// Appends the uncompressed encoding of `value` to `out` (the append-only log's
    /// records: no separate array, no compression on the execution thread).
    public static func appendUncompressed(_ value: Value, expireAt: Int64, rawEncoding: Bool,
                                          to out: inout [UInt8]) {
        value.withPayload {
            appendUncompressed(type: $0, payload: $1, expireAt: expireAt, rawEncoding: rawEncoding, to: &out)
        }
    }

    public static func appendUncompressed(type: ValueType, payload bytes: UnsafeRawBufferPointer, expireAt: Int64,
                                          rawEncoding: Bool, to out: inout [UInt8]) {
        let flags = (expireAt != 0 ? flagExpiry : 0) | (rawEncoding && type == .string ? flagRawEncoding : 0)
        out.append(version)
        out.append(type.rawValue)
        out.append(flags)
        if expireAt != 0 {
            withUnsafeBytes(of: UInt64(bitPattern: expireAt).littleEndian) { out.append(contentsOf: $0) }
        }
        out.append(contentsOf: bytes)
    }

    /// The encoding of a string value given as bytes.
    public static func encode(string: UnsafeRawBufferPointer, expireAt: Int64, compressionThreshold: Int,
                              rawEncoding: Bool = false) -> [UInt8] {
        encode(type: .string, payload: string, expireAt: expireAt, compressionThreshold: compressionThreshold,
               rawEncoding: rawEncoding)
    }

    /// The encoding of a value of `type` given as its payload (a string's bytes, a
    /// collection's packed form).
    /// `sequence` (collections only; 0 writes none) is the log's change sequence the value
    /// was taken at.
    public static func encode(type: ValueType, payload: UnsafeRawBufferPointer, expireAt: Int64,
                              compressionThreshold: Int, rawEncoding: Bool = false, sequence: UInt64 = 0) -> [UInt8] {
        let sequence = type == .string ? 0 : sequence
        return encode(tag: type.rawValue, payload: payload, expireAt: expireAt,
                      compressionThreshold: compressionThreshold,
                      extraFlags: rawEncoding && type == .string ? flagRawEncoding : 0, sequence: sequence)
    }

    static func encode(tag: UInt8, payload: UnsafeRawBufferPointer, expireAt: Int64,
                       compressionThreshold: Int, extraFlags: UInt8 = 0, sequence: UInt64 = 0) -> [UInt8] {
        let flags = (expireAt != 0 ? flagExpiry : 0) | (sequence != 0 ? flagSequence : 0) | extraFlags
        let prefix = headerLength(flags)
        if compressionThreshold > 0, payload.count >= compressionThreshold,
           payload.count <= maxUncompressedLength,
           let compressed = compress(payload, tag: tag, expireAt: expireAt, sequence: sequence, prefix: prefix,
                                     flags: flags) {
            return compressed
        }
        return [UInt8](unsafeUninitializedCapacity: prefix + payload.count) { out, count in
            writeHeader(out, tag: tag, flags: flags, expireAt: expireAt, sequence: sequence)
            if payload.count > 0 {
                UnsafeMutableRawPointer(out.baseAddress! + prefix).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
            }
            count = prefix + payload.count
        }
    }

    /// The compressed encoding, or nil when it would not be smaller than the raw one.
    private static func compress(_ payload: UnsafeRawBufferPointer, tag: UInt8, expireAt: Int64, sequence: UInt64,
                                 prefix: Int, flags: UInt8) -> [UInt8]? {
        let bound = ZSTD_compressBound(payload.count)
        if ZSTD_isError(bound) != 0 { return nil }
        let dataStart = prefix + 4
        var smaller = false
        // Compress straight into the result so the frame is not copied again.
        let result = [UInt8](unsafeUninitializedCapacity: dataStart + bound) { out, count in
            count = 0
            let written = ZSTD_compress(out.baseAddress! + dataStart, bound,
                                        payload.baseAddress, payload.count, compressionLevel)
            // The 4-byte length field counts against compression: raw wins ties.
            guard ZSTD_isError(written) == 0, written + 4 < payload.count else { return }
            writeHeader(out, tag: tag, flags: flags | flagCompressed, expireAt: expireAt, sequence: sequence)
            storeLE(UInt32(payload.count), to: out.baseAddress! + prefix)
            count = dataStart + written
            smaller = true
        }
        return smaller ? result : nil
    }

    /// Bytes before the payload (or its zstd length) under `flags`.
    @inline(__always)
    static func headerLength(_ flags: UInt8) -> Int {
        3 + (flags & flagExpiry != 0 ? 8 : 0) + (flags & flagSequence != 0 ? 8 : 0)
    }

    private static func writeHeader(_ out: UnsafeMutableBufferPointer<UInt8>, tag: UInt8, flags: UInt8,
                                    expireAt: Int64, sequence: UInt64) {
        out[0] = version
        out[1] = tag
        out[2] = flags
        var at = 3
        if flags & flagExpiry != 0 {
            storeLE(UInt64(bitPattern: expireAt), to: out.baseAddress! + at)
            at += 8
        }
        if flags & flagSequence != 0 { storeLE(sequence, to: out.baseAddress! + at) }
    }

    @inline(__always)
    private static func storeLE<T: FixedWidthInteger>(_ value: T, to pointer: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value.littleEndian, as: T.self)
    }

    @inline(__always)
    private static func loadLE<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, at offset: Int,
                                                     as type: T.Type) -> T {
        T(littleEndian: bytes.baseAddress!.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    // MARK: - Decode

    /// The parsed fixed part of an encoding.
    private struct Header {
        var tag: UInt8
        var flags: UInt8
        var expireAt: Int64
        var sequence: UInt64
        /// Offset of the zstd length field (if compressed) or of the payload.
        var end: Int
    }

    private static func parseHeader(_ bytes: UnsafeRawBufferPointer) throws -> Header {
        guard bytes.count >= 3 else { throw ValueCodecError.truncated }
        guard bytes[0] == version else { throw ValueCodecError.unknownVersion(bytes[0]) }
        let tag = bytes[1]
        guard ValueType(rawValue: tag) != nil else { throw ValueCodecError.unknownTypeTag(tag) }
        let flags = bytes[2]
        guard flags & ~knownFlags == 0 else { throw ValueCodecError.badFlags(flags) }
        var header = Header(tag: tag, flags: flags, expireAt: 0, sequence: 0, end: headerLength(flags))
        guard bytes.count >= header.end else { throw ValueCodecError.truncated }
        var at = 3
        if flags & flagExpiry != 0 {
            header.expireAt = loadLE(bytes, at: at, as: Int64.self)
            at += 8
        }
        if flags & flagSequence != 0 { header.sequence = loadLE(bytes, at: at, as: UInt64.self) }
        return header
    }

    /// The type tag and expiry (0 = none) of an encoding, reading only its first bytes; nil if
    /// the header is malformed. Does not validate the payload.
    public static func header(_ bytes: UnsafeRawBufferPointer) -> (typeTag: UInt8, expireAt: Int64)? {
        guard let header = try? parseHeader(bytes) else { return nil }
        return (header.tag, header.expireAt)
    }

    public static func header(_ bytes: [UInt8]) -> (typeTag: UInt8, expireAt: Int64)? {
        bytes.withUnsafeBytes { header($0) }
    }

    /// The same encoding with another expiry (0 = none): the header is rebuilt and the
    /// rest (compressed or not) copied as it is. nil if the header is malformed.
    public static func replacingExpiry(_ bytes: UnsafeRawBufferPointer, expireAt: Int64) -> [UInt8]? {
        guard let header = try? parseHeader(bytes) else { return nil }
        let flags = expireAt != 0 ? header.flags | flagExpiry : header.flags & ~flagExpiry
        let headerLength = headerLength(flags)
        let rest = bytes.count - header.end
        return [UInt8](unsafeUninitializedCapacity: headerLength + rest) { out, count in
            writeHeader(out, tag: header.tag, flags: flags, expireAt: expireAt, sequence: header.sequence)
            if rest > 0 {
                UnsafeMutableRawPointer(out.baseAddress! + headerLength)
                    .copyMemory(from: bytes.baseAddress! + header.end, byteCount: rest)
            }
            count = headerLength + rest
        }
    }

    /// Decodes an encoding; throws `ValueCodecError` on anything malformed.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> (value: Value, expireAt: Int64) {
        let record = try decodeRecord(bytes)
        return (record.value, record.expireAt)
    }

    /// `decode`, plus whether the string was edited in place (flag 0x04) and the change
    /// sequence (0 when none is stored).
    public static func decodeRecord(_ bytes: UnsafeRawBufferPointer) throws
        -> (value: Value, expireAt: Int64, rawEncoding: Bool, sequence: UInt64) {
        let header = try parseHeader(bytes)
        let raw = header.flags & flagRawEncoding != 0
        let payload: [UInt8]
        if header.flags & flagCompressed != 0 {
            guard bytes.count >= header.end + 4 else { throw ValueCodecError.truncated }
            let declared = loadLE(bytes, at: header.end, as: UInt32.self)
            guard Int(declared) <= maxUncompressedLength else { throw ValueCodecError.lengthTooLarge(declared) }
            // zstd accepts zero input bytes as "nothing"; a compressed payload always has a frame.
            guard bytes.count > header.end + 4 else { throw ValueCodecError.truncated }
            payload = try decompress(UnsafeRawBufferPointer(rebasing: bytes[(header.end + 4)...]),
                                     declaredLength: Int(declared))
        } else {
            payload = Array(UnsafeRawBufferPointer(rebasing: bytes[header.end...]))
        }
        guard let type = ValueType(rawValue: header.tag) else { throw ValueCodecError.unknownTypeTag(header.tag) }
        switch type {
        case .string: return (.string(payload), header.expireAt, raw, header.sequence)
        case .list, .hash, .set:
            guard isValidCollection(type, payload) else { throw ValueCodecError.badPayload(header.tag) }
            return (.collection(type, payload), header.expireAt, false, header.sequence)
        case .zset, .stream: throw ValueCodecError.unsupportedType(header.tag)
        }
    }

    /// True when `payload` is a well-formed packed form of `type`: a form byte the type
    /// uses, and bytes its checker accepts (a hash's listpack holds field, value pairs).
    static func isValidCollection(_ type: ValueType, _ payload: [UInt8]) -> Bool {
        guard let first = payload.first, let form = PackedForm(rawValue: first) else { return false }
        return payload.withUnsafeBytes { raw in
            let packed = UnsafeRawBufferPointer(rebasing: raw[1...])
            switch form {
            case .listpack:
                guard Listpack.isValid(packed) else { return false }
                return type != .hash || Listpack.count(packed) % 2 == 0
            case .intset:
                return type == .set && IntSet.isValid(packed)
            case .owned:
                return false  // a pointer: only ever in RAM
            }
        }
    }

    public static func decode(_ bytes: [UInt8]) throws -> (value: Value, expireAt: Int64) {
        try bytes.withUnsafeBytes { try decode($0) }
    }

    private static func decompress(_ frame: UnsafeRawBufferPointer, declaredLength: Int) throws -> [UInt8] {
        var failure: ValueCodecError?
        // One spare byte: a frame that decodes to more than the declared length fills it
        // (or fails with "destination too small") instead of passing as a match.
        let result = [UInt8](unsafeUninitializedCapacity: declaredLength + 1) { out, count in
            count = 0
            let written = ZSTD_decompress(out.baseAddress, declaredLength + 1, frame.baseAddress, frame.count)
            if ZSTD_isError(written) != 0 {
                failure = .decompressionFailed(String(cString: ZSTD_getErrorName(written)))
            } else if written != declaredLength {
                failure = .lengthMismatch(declared: declaredLength, actual: written)
            } else {
                count = written
            }
        }
        if let failure { throw failure }
        return result
    }
}
