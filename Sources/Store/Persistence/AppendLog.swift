import CShims
import Dispatch
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// When the log's bytes are forced to disk.
public enum FsyncPolicy: String {
    /// After every event-loop pass that wrote, before any reply of that pass is sent.
    case always
    /// Once a second, in the background.
    case everysec
    /// Never by us: the kernel writes the pages back when it likes.
    case no
}

/*
 The append-only log: every change since the last checkpoint, as records of the keys'
 resulting states (see LogRecord.swift).

 Threads. The execution thread encodes records into `buffer`; the first record of an
 event-loop pass schedules a task that writes the buffer out (the loop runs it after
 the I/O events of the pass).
 - `always`: the task hands the buffer to the log thread, which writes and fsyncs it, then
   reports back on the loop. While one write is in flight, the next passes' records
   collect in `buffer` and go in the next write: under load every fsync covers many passes
   (group commit), with one fsync in flight at a time.
 - `everysec` and `no`: the loop writes the buffer itself, as Redis does before its loop
   sleeps: a copy into the page cache costs less than handing it to another thread and
   being woken for the answer. The log thread only fsyncs (once a second), and takes
   over writing while writes fail or a segment is being started.

 Positions count the bytes of records since start-up, across segments. `durableEnd` is
 where the reported writes end: with `always` they are fsynced, and replies of commands
 behind that position may be sent (the connection holds the others).

 Failures. A failed write keeps its unwritten bytes on the log thread (the file ends where
 the last successful write ended, on a record boundary or inside the record being
 written); the error is reported (writes are then refused with -MISCONF) and the same
 bytes are written again by `retry`, from the cron, until it works.

 Files. `<dir>/<appenddirname>/<appendfilename>.<n>.log`, n counting up: a checkpoint
 starts a new segment and deletes the older ones once RocksDB holds everything they say.
*/
public final class AppendLog: @unchecked Sendable {
    public static let magic: [UInt8] = Array("STRATA-LOG v1\n\0\0".utf8)

    public let directory: String
    public let baseName: String
    public var policy: FsyncPolicy
    let loop: EventLoop
    let queue = DispatchQueue(label: "strata.log")

    // Execution thread.
    public internal(set) var buffer: [UInt8] = []
    /// Bytes of the chunk handed to the log thread, until it is written (`heldBytes`).
    private var submittedChunkBytes = 0
    /// RAM the log holds for records not yet written: left out of maxmemory, as Redis
    /// leaves out its AOF buffer (demotion cannot free it).
    public var heldBytes: Int { buffer.capacity + submittedChunkBytes }
    /// Where the frame being built starts in `buffer` (nil: none open).
    var frameStart: Int?
    public private(set) var appendedEnd: UInt64 = 0
    public private(set) var durableEnd: UInt64 = 0
    var writeInFlight = false
    /// A new segment is being started on the log thread: writes go through it meanwhile.
    var rotating = false
    /// Where the records handed to the log thread end.
    var submittedEnd: UInt64 = 0
    var submitScheduled = false
    /// strerror text of the last failed write or fsync; nil when the last one worked.
    public private(set) var lastError: String?
    public private(set) var currentSegment: Int
    /// Bytes in the segments since the last checkpoint started (auto-aof-rewrite).
    public private(set) var bytesSinceCheckpoint: UInt64 = 0
    /// Called on the loop when `durableEnd` moves.
    public var onDurable: (() -> Void)?

    // Log thread (and the loop's own writes, under `fileLock`).
    private var fd: Int32 = -1
    private var carry: [UInt8] = []
    private var unsyncedBytes = 0
    /// Held by the loop's writes, and around changes of `fd` and `unsyncedBytes`.
    private let fileLock = ConditionLock()

    // Shared: how far the log is written (RocksDB writes wait for it).
    private let writtenLock = ConditionLock()
    private var writtenEnd: UInt64 = 0
    private var writesFailing = false
    private var closed = false

    /// Opens segment `segment` for appending (created with its header if missing; an
    /// existing one must have been checked by recovery, and is cut at `validLength`).
    public init(directory: String, baseName: String, segment: Int, validLength: Int?, policy: FsyncPolicy,
                loop: EventLoop) throws {
        self.directory = directory
        self.baseName = baseName
        self.policy = policy
        self.loop = loop
        self.currentSegment = segment
        try FileSystem.makeDirectories(directory)
        fd = try AppendLog.openSegment(path: segmentPath(segment), validLength: validLength)
        startEmptyBuffer()
    }

    public func segmentPath(_ n: Int) -> String { AppendLog.segmentPath(directory: directory, baseName: baseName, n) }

    public static func segmentPath(directory: String, baseName: String, _ n: Int) -> String {
        "\(directory)/\(baseName).\(n).log"
    }

    /// The segment numbers present in `directory`, ascending.
    public static func segments(directory: String, baseName: String) -> [Int] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var found: [Int] = []
        let prefix = baseName + "."
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix), name.hasSuffix(".log") else { continue }
            let middle = name.dropFirst(prefix.count).dropLast(4)
            if let n = Int(middle), n > 0 { found.append(n) }
        }
        return found.sorted()
    }

    // MARK: - Records (execution thread)

    /// Starts a frame if none is open; records follow with `LogRecord.append...`.
    @inline(__always)
    func openFrame() {
        if frameStart != nil { return }
        frameStart = buffer.count
        buffer.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0] as [UInt8])
    }

    /// Closes the open frame (length and checksum) and schedules its write.
    func closeFrame() {
        guard let start = frameStart else { return }
        frameStart = nil
        let payloadLength = buffer.count - start - 8
        buffer.withUnsafeMutableBytes { raw in
            let crc = strata_crc32c(0, raw.baseAddress! + start + 8, payloadLength)
            raw.storeBytes(of: UInt32(truncatingIfNeeded: payloadLength).littleEndian, toByteOffset: start, as: UInt32.self)
            raw.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
        appendedEnd += UInt64(payloadLength + 8)
        if !submitScheduled {
            submitScheduled = true
            loop.execute { [self] in self.submit() }
        }
    }

    // MARK: - Writing

    /// Hands the buffered records to the log thread, unless a write is in flight (they
    /// then go with the next one) and `force` is false.
    public func submit(force: Bool = false) {
        submitScheduled = false
        let closedBytes = frameStart ?? buffer.count
        guard closedBytes > 0, force || !writeInFlight else { return }
        if policy != .always && !writeInFlight && !rotating && lastError == nil {
            writeOnLoop(closedBytes)
            return
        }
        let chunk: UncheckedBox<[UInt8]>
        if closedBytes == buffer.count {
            chunk = UncheckedBox(buffer)
            startEmptyBuffer()
        } else {
            // A command is writing its frame: hand over the frames before it.
            chunk = UncheckedBox(Array(buffer[..<closedBytes]))
            buffer.removeFirst(closedBytes)
            frameStart = 0
        }
        let end = appendedEnd  // every closed frame is in this chunk
        submittedEnd = end
        bytesSinceCheckpoint += UInt64(chunk.value.count)
        writeInFlight = true
        submittedChunkBytes = chunk.value.capacity
        let sync = policy == .always
        queue.async { [self] in
            let error = self.writeOut(chunk.value, sync: sync, end: end)
            self.loop.execute { self.written(upTo: end, error: error) }
        }
    }

    /// everysec and no: writes the first `count` bytes of `buffer` (whole frames) from the
    /// loop. What a failed write leaves goes to the log thread, which keeps it and reports
    /// the failure (writes are then refused until `retry` gets it out).
    private func writeOnLoop(_ count: Int) {
        let end = appendedEnd  // every closed frame is in these bytes
        var done = 0
        var failure: Int32 = 0
        fileLock.lock()
        buffer.withUnsafeBytes { raw in
            while done < count {
                let n = Glibc.write(fd, raw.baseAddress! + done, count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                done += n
            }
        }
        unsyncedBytes += done
        fileLock.unlock()
        submittedEnd = end
        bytesSinceCheckpoint += UInt64(count)
        if failure != 0 {
            let rest = UncheckedBox(Array(buffer[done..<count]))
            dropFromBuffer(count)
            writeInFlight = true
            queue.async { [self] in
                let error = self.writeOut(rest.value, sync: false, end: end)
                self.loop.execute { self.written(upTo: end, error: error) }
            }
            return
        }
        dropFromBuffer(count)
        writtenLock.lock()
        writtenEnd = max(writtenEnd, end)
        writtenLock.broadcast()
        writtenLock.unlock()
        if end > durableEnd {
            durableEnd = end
            onDurable?()
        }
    }

    static let keptBufferCapacity = 1 << 20

    /// A new, empty buffer with room for a typical group of records.
    private func startEmptyBuffer() {
        buffer = []
        buffer.reserveCapacity(64 * 1024)
    }

    private func dropFromBuffer(_ count: Int) {
        if count == buffer.count {
            // A large record (a 48 MB SET) grew the buffer: keeping that capacity would hold
            // the memory, counted in maxmemory, after the value itself is gone.
            if buffer.capacity <= AppendLog.keptBufferCapacity {
                buffer.removeAll(keepingCapacity: true)
            } else {
                startEmptyBuffer()
            }
        } else {
            buffer.removeFirst(count)
            frameStart = frameStart.map { $0 - count }
        }
    }

    /// Back on the loop after a write.
    private func written(upTo end: UInt64, error: String?) {
        writeInFlight = false
        submittedChunkBytes = 0
        lastError = error
        if error == nil && end > durableEnd {
            durableEnd = end
            onDurable?()
        } else if error != nil {
            onDurable?()  // replies to reads stop waiting for a log that cannot be written
        }
        if error == nil { submit() }
    }

    /// Log thread: writes `chunk` after any bytes left from a failed write; fsyncs with
    /// `sync`. Returns the error text, or nil.
    private func writeOut(_ chunk: [UInt8], sync: Bool, end: UInt64) -> String? {
        if carry.isEmpty { carry = chunk } else { carry += chunk }
        while !carry.isEmpty {
            let n = carry.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return failed(String(cString: strerror(errno)))
            }
            fileLock.lock()
            unsyncedBytes += n
            fileLock.unlock()
            carry.removeFirst(n)
        }
        if sync, let error = fsyncNow() { return failed(error) }
        writtenLock.lock()
        writesFailing = false
        writtenEnd = max(writtenEnd, end)
        writtenLock.broadcast()
        writtenLock.unlock()
        return nil
    }

    /// Log thread: a write failed; RocksDB writes stop waiting for the log (they would
    /// wait forever, and hold up the execution thread's synchronous waits on the writer).
    private func failed(_ error: String) -> String {
        writtenLock.lock()
        writesFailing = true
        writtenLock.broadcast()
        writtenLock.unlock()
        return error
    }

    /// Log thread. The loop may write on while the fsync runs: those bytes count for the next.
    private func fsyncNow() -> String? {
        fileLock.lock()
        let pending = unsyncedBytes
        unsyncedBytes = 0
        fileLock.unlock()
        guard pending > 0 else { return nil }
        if fdatasync(fd) != 0 {
            let error = String(cString: strerror(errno))
            fileLock.lock()
            unsyncedBytes += pending
            fileLock.unlock()
            return error
        }
        return nil
    }

    /// After the writes handed over so far: fsyncs, then `done` on the loop says whether
    /// everything written is on disk (false while writes fail).
    func whenSynced(_ done: @escaping (Bool) -> Void) {
        let box = UncheckedBox(done)
        queue.async { [self] in
            let ok = carry.isEmpty && fsyncNow() == nil
            loop.execute { box.value(ok) }
        }
    }

    /// everysec: fsyncs in the background what was written (from the cron, once a second).
    public func fsyncInBackground() {
        queue.async { [self] in
            let error = self.fsyncNow()
            if let error { self.loop.execute { self.lastError = error } }
        }
    }

    /// After a failure: writes the bytes left over (and the buffered ones) again.
    public func retry() {
        guard lastError != nil, !writeInFlight else { return }
        writeInFlight = true
        let end = submittedEnd
        queue.async { [self] in
            let error = self.writeOut([], sync: true, end: end)
            self.loop.execute { self.written(upTo: end, error: error) }
        }
    }

    /// Blocks (a background thread, never the loop) until the log is written up to
    /// `position`, so that RocksDB never holds a state the log has not reached yet.
    func waitWritten(_ position: UInt64) {
        writtenLock.lock()
        while writtenEnd < position && !closed && !writesFailing { writtenLock.wait() }
        writtenLock.unlock()
    }

    // MARK: - Segments

    /// Ends the current segment and starts the next: records appended from now on go to
    /// it. `done` gets its number, or nil when it could not be started (the records then
    /// stay in the current segment, which must then be kept).
    public func rotate(_ done: @escaping (Int?) -> Void) {
        submit(force: true)
        rotating = true
        let next = currentSegment + 1
        let path = segmentPath(next)
        let box = UncheckedBox(done)
        queue.async { [self] in
            // Bytes left from a failed write belong at the end of this segment.
            var opened: Int32?
            if self.carry.isEmpty && self.fsyncNow() == nil {
                opened = try? AppendLog.openSegment(path: path, validLength: nil)
            }
            if let opened {
                self.fileLock.lock()
                Glibc.close(self.fd)
                self.fd = opened
                self.fileLock.unlock()
                AppendLog.syncDirectory(self.directory)
            }
            self.loop.execute {
                self.rotating = false
                if opened != nil {
                    self.currentSegment = next
                    self.bytesSinceCheckpoint = 0
                }
                box.value(opened != nil ? next : nil)
            }
        }
    }

    /// Deletes the segments before `segment` (their records are all in RocksDB now).
    public func deleteSegments(before segment: Int) {
        let directory = self.directory, baseName = self.baseName
        queue.async {
            for n in AppendLog.segments(directory: directory, baseName: baseName) where n < segment {
                unlink(AppendLog.segmentPath(directory: directory, baseName: baseName, n))
            }
            AppendLog.syncDirectory(directory)
        }
    }

    /// Deletes every segment in `directory` (a checkpoint without a log).
    public static func deleteAllSegments(directory: String, baseName: String) {
        for n in segments(directory: directory, baseName: baseName) {
            unlink(segmentPath(directory: directory, baseName: baseName, n))
        }
        syncDirectory(directory)
    }

    /// Writes and fsyncs everything buffered, and waits (shutdown, SAVE).
    public func flushAndSync() {
        submit(force: true)
        queue.sync { _ = self.fsyncNow() }
    }

    public func close() {
        flushAndSync()
        queue.sync {
            fileLock.lock()
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
            fileLock.unlock()
        }
        writtenLock.lock()
        closed = true
        writtenLock.broadcast()
        writtenLock.unlock()
    }

    // MARK: - Files

    static func openSegment(path: String, validLength: Int?) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if let validLength {
            if ftruncate(fd, off_t(validLength)) != 0 {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw LogError("cannot truncate \(path): \(reason)")
            }
        }
        var info = stat()
        fstat(fd, &info)
        if info.st_size == 0 {
            let written = magic.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written != magic.count || fdatasync(fd) != 0 {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw LogError("cannot write \(path): \(reason)")
            }
        }
        return fd
    }

    /// fsync of a directory, so that a created or deleted file survives a power cut.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        Glibc.close(fd)
    }
}

public struct LogError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A mutex with a condition variable.
final class ConditionLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
    func wait() { pthread_cond_wait(&condition, &mutex) }
    func broadcast() { pthread_cond_broadcast(&condition) }
}
