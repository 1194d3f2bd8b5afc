import CShims
import Dispatch

/*
 The large form of a collection (DESIGN.md "Values"): past Redis's thresholds a list, hash
 or set no longer lives packed in the key's record but in an object the record owns. The
 record's payload is then

     [PackedForm.owned][8-byte pointer to the object, retained once]

 and only the hot tier ever sees that form: the codec, the log and COPY get the packed
 equivalent (`packedPayload`), and a value that comes back from disk over the thresholds is
 turned into the object again (`Collections.normalized`). The object is changed in place by
 the execution thread only; nothing else holds it (a demotion batch takes a packed copy).
*/
public class OwnedCollection {
    /// Elements (a hash's fields).
    public var count: Int { fatalError("subclass") }
    /// Heap bytes held, approximately (memory accounting, MEMORY USAGE).
    public var heapBytes: Int { fatalError("subclass") }
    /// The packed form with the same contents: `[PackedForm byte][bytes]`.
    public func packedPayload() -> [UInt8] { fatalError("subclass") }
    /// An independent copy (COPY).
    public func copy() -> OwnedCollection { fatalError("subclass") }
}

extension PackedForm {
    /// Bytes of an owned form's payload: the form byte and the pointer.
    public static let ownedPayloadBytes = 9
}

public enum OwnedValue {
    /// A payload pointing to `object` (retained once; the record that stores the payload
    /// owns that reference).
    public static func payload(_ object: OwnedCollection) -> [UInt8] {
        payload(taking: Unmanaged.passRetained(object))
    }

    /// A payload pointing to the object of `reference`, which the record that stores the
    /// payload takes over.
    static func payload(taking reference: Unmanaged<OwnedCollection>) -> [UInt8] {
        var bytes: [UInt8] = [PackedForm.owned.rawValue]
        withUnsafeBytes(of: UInt64(UInt(bitPattern: reference.toOpaque())).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The object an owned payload points to, or nil for any other payload.
    @inline(__always)
    public static func object(_ payload: UnsafeRawBufferPointer) -> OwnedCollection? {
        guard payload.count == PackedForm.ownedPayloadBytes, payload[0] == PackedForm.owned.rawValue else { return nil }
        let bits = UInt(UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 1, as: UInt64.self)))
        let opaque = UnsafeRawPointer(bitPattern: bits)!
        return Unmanaged<OwnedCollection>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// Objects above this size are released on a background queue: freeing a 100 MB list
    /// element by element would hold the execution thread for tens of milliseconds.
    static let backgroundReleaseBytes = 64 * 1024

    /// Whether large objects are being freed in the background (memory about to drop).
    public static var releasing: Bool { strata_releasing_objects() > 0 }

    /// Drops the record's reference to the object an owned payload points to (nothing for
    /// other payloads).
    public static func release(_ payload: UnsafeRawBufferPointer) {
        guard payload.count == PackedForm.ownedPayloadBytes, payload[0] == PackedForm.owned.rawValue else { return }
        let bits = UInt(UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 1, as: UInt64.self)))
        releaseInBackground(Unmanaged<OwnedCollection>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!))
    }

    /// Takes over `record`'s reference to its object (a large collection's owned form)
    /// and frees the record.
    public static func takeObject(_ record: KeyRecord) -> Unmanaged<OwnedCollection> {
        let bits = UInt(UInt64(littleEndian: record.valueBytes.loadUnaligned(fromByteOffset: 1, as: UInt64.self)))
        record.freeKeepingValue()
        return Unmanaged<OwnedCollection>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
    }

    /// Drops the reference `unmanaged` holds, on a background queue when the object is
    /// large (as `release`).
    static func releaseInBackground(_ unmanaged: Unmanaged<OwnedCollection>) {
        if unmanaged.takeUnretainedValue().heapBytes < backgroundReleaseBytes { return unmanaged.release() }
        // Nothing else refers to the object: the last release may run on any thread. The
        // freed blocks go back to the execution thread's arena only when this thread's
        // cache is flushed; until then a write over maxmemory waits.
        let box = ReleaseBox(unmanaged)
        strata_releasing_objects_add(1)
        DispatchQueue.global(qos: .utility).async {
            box.unmanaged.release()
            strata_flush_thread_cache()
            strata_releasing_objects_add(-1)
        }
    }

    final class ReleaseBox: @unchecked Sendable {
        let unmanaged: Unmanaged<OwnedCollection>
        init(_ unmanaged: Unmanaged<OwnedCollection>) { self.unmanaged = unmanaged }
    }
}
