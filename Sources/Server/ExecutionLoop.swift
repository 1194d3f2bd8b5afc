import CShims
import Dispatch
import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/*
 The execution thread: one epoll loop that runs every connection, every command and every
 task, as Redis's main thread does.

 It replaces SwiftNIO's event loop and channel pipeline for client sockets. At pipeline 1
 every request costs one read and one write, the same system calls as Redis; the
 difference was user time: 6.3-6.9 us per GET against redis-server's 3.8-4.5, and perf
 put most of Strata's in NIO's per-event machinery (pipeline traversal, pending-writes
 bookkeeping) and the reference counting it does. Here a readable socket is read into a
 buffer, its commands run, and the replies are written with one write() once every ready
 socket of the batch was served (`deferWrite`): 2.4-3.7 us (Benchmarks/RESULTS.md).

 It still conforms to NIO's `EventLoop`, so the rest of the code keeps using futures,
 promises and scheduled tasks on it (parking on a cold read, the log's group commit, the
 cron): `execute` from another thread queues the task and wakes the loop through an
 eventfd; timers sit in a small sorted array and bound epoll's wait.
*/
final class ExecutionLoop: EventLoop, @unchecked Sendable {
    /// Something registered for readiness events on a descriptor.
    protocol Handler: AnyObject {
        func pollEvent(_ events: UInt32)
    }

    /// Something with output to write once the current batch of events is handled.
    protocol DeferredWriter: AnyObject {
        func writeDeferred()
    }

    /// What `top -H` and /proc show for the execution thread.
    static let threadName = "strata-loop"

    private let pollFD: Int32
    private let wakeFD: Int32
    private var thread: pthread_t?
    private let started = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Handlers by descriptor (descriptors are small integers): an event for a descriptor
    /// closed earlier in the same batch finds nil.
    private var handlers: [Handler?] = []

    /// Queued tasks, under `lock`, in the order they were queued from whichever thread
    /// (the cold tier relies on that order, as it did on NIO's). `wakePending` saves a
    /// system call per task while the loop has not picked the earlier ones up yet.
    private let lock = NIOLock()
    private var tasks: [() -> Void] = []
    private var wakePending = false
    /// The other of the two task arrays that `runTasks` swaps (loop thread only).
    private var spareTasks: [() -> Void] = []
    /// Scheduled tasks, latest first (the next one due is last).
    private var timers: [Timer] = []
    private var nextTimerID: UInt64 = 0
    private var running = true
    /// Connections that replied during this batch of events (`deferWrite`).
    private var deferredWriters: [DeferredWriter] = []
    private var stopRequested = false

    private struct Timer {
        let deadline: UInt64
        let id: UInt64
        let run: () -> Void
        let cancelled: () -> Void
    }

    init() {
        pollFD = strata_poll_create()
        wakeFD = strata_wake_create()
        precondition(pollFD >= 0 && wakeFD >= 0, "epoll or eventfd could not be created")
        _ = strata_poll_control(pollFD, STRATA_POLL_ADD, wakeFD, UInt32(STRATA_POLL_IN))
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            let loop = Unmanaged<ExecutionLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.thread = pthread_self()
            strata_name_thread(ExecutionLoop.threadName)
            loop.started.signal()
            loop.run()
            return nil
        }, box.toOpaque())
        precondition(status == 0, "the execution thread could not be started")
        pthread_detach(thread)  // `stop` waits for it through `finished`
        started.wait()
    }

    deinit {
        Glibc.close(pollFD)
        Glibc.close(wakeFD)
    }

    // MARK: Descriptors

    func register(_ fd: Int32, _ handler: Handler, events: UInt32 = UInt32(STRATA_POLL_IN)) -> Bool {
        guard strata_poll_control(pollFD, STRATA_POLL_ADD, fd, events) == 0 else { return false }
        let index = Int(fd)
        if index >= handlers.count {
            handlers.append(contentsOf: repeatElement(nil, count: index + 1 - handlers.count))
        }
        handlers[index] = handler
        return true
    }

    func changeInterest(_ fd: Int32, events: UInt32) {
        _ = strata_poll_control(pollFD, STRATA_POLL_MODIFY, fd, events)
    }

    /// Forgets `fd` and closes it.
    func closeDescriptor(_ fd: Int32) {
        _ = strata_poll_control(pollFD, STRATA_POLL_DELETE, fd, 0)
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
        Glibc.close(fd)
    }

    // MARK: The loop

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<strata_poll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while running {
            var timeout: Int64 = -1
            if lock.withLock({ !tasks.isEmpty }) {
                timeout = 0
            } else if let next = timers.last {
                let now = DispatchTime.now().uptimeNanoseconds
                timeout = next.deadline > now ? Int64(next.deadline - now) : 0
            }
            let count = strata_poll_wait(pollFD, events, Int32(capacity), timeout)
            for index in 0..<Int(max(count, 0)) {
                let fd = events[index].fd
                if fd == wakeFD {
                    strata_wake_drain(wakeFD)
                } else if Int(fd) < handlers.count, let handler = handlers[Int(fd)] {
                    handler.pollEvent(events[index].events)
                }
            }
            writeDeferred()
            runDueTimers()
            runTasks()
        }
        // Stopped: what was still scheduled will not run.
        for timer in timers { timer.cancelled() }
        timers.removeAll()
        finished.signal()
    }

    /*
     Replies are written once every ready socket of a batch has been read and its commands
     run, as Redis writes them before it sleeps (handleClientsWithPendingWrites), not after
     each socket's commands. Loopback delivery wakes the client's thread from the write:
     written one socket at a time, each write found redis-benchmark asleep again and paid a
     wake-up across CPUs (a third of the execution thread's time at pipeline 16, against an
     eighth in redis-server); written together, the first one wakes it and the others find
     it running.
    */

    /// Calls `writer.writeDeferred()` once the current batch of events is handled.
    func deferWrite(_ writer: DeferredWriter) {
        deferredWriters.append(writer)
    }

    private func writeDeferred() {
        guard !deferredWriters.isEmpty else { return }
        for writer in deferredWriters { writer.writeDeferred() }
        deferredWriters.removeAll(keepingCapacity: true)
    }

    private func runDueTimers() {
        guard let last = timers.last else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard last.deadline <= now else { return }
        while let timer = timers.last, timer.deadline <= now {
            timers.removeLast()
            timer.run()
        }
    }

    /// Runs the tasks queued so far; those they queue run on the next turn, after the
    /// sockets.
    private func runTasks() {
        var due: [() -> Void] = []
        swap(&due, &spareTasks)  // a copy would share its storage: the next append would copy
        lock.withLock {
            swap(&due, &tasks)
            wakePending = false
        }
        for task in due { task() }
        due.removeAll(keepingCapacity: true)
        spareTasks = due
    }

    /// Stops the loop after its current turn and, called from another thread, waits for
    /// the thread to end.
    func stop() {
        if inEventLoop {
            running = false
            return
        }
        let first = lock.withLock { () -> Bool in
            defer { stopRequested = true }
            return !stopRequested
        }
        guard first else { return }
        execute { self.running = false }
        finished.wait()
    }

    // MARK: EventLoop

    var inEventLoop: Bool {
        guard let thread else { return false }
        return pthread_equal(pthread_self(), thread) != 0
    }

    func execute(_ task: @escaping @Sendable () -> Void) {
        // The loop itself needs no wake-up: it looks at the queue before it waits.
        let wake = !inEventLoop
        let signal = lock.withLock { () -> Bool in
            tasks.append(task)
            defer { if wake { wakePending = true } }
            return wake && !wakePending
        }
        if signal { strata_wake_signal(wakeFD) }
    }

    func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise: EventLoopPromise<T> = makePromise()
        let id = lock.withLock { () -> UInt64 in
            nextTimerID += 1
            return nextTimerID
        }
        let timer = Timer(deadline: deadline.uptimeNanoseconds, id: id,
                          run: { promise.completeWith(Result { try task() }) },
                          cancelled: { promise.fail(EventLoopError.cancelled) })
        if inEventLoop {
            addTimer(timer)
        } else {
            execute { self.addTimer(timer) }
        }
        return Scheduled(promise: promise, cancellationTask: { [self] in
            if inEventLoop {
                cancelTimer(id)
            } else {
                execute { self.cancelTimer(id) }
            }
        })
    }

    func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: .now() + delay, task)
    }

    private func addTimer(_ timer: Timer) {
        guard running else { return timer.cancelled() }
        // Latest first; among equal deadlines the earlier scheduled runs first.
        var low = 0, high = timers.count
        while low < high {
            let middle = (low + high) / 2
            if timers[middle].deadline > timer.deadline
                || (timers[middle].deadline == timer.deadline && timers[middle].id > timer.id) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        timers.insert(timer, at: low)
    }

    private func cancelTimer(_ id: UInt64) {
        guard let index = timers.firstIndex(where: { $0.id == id }) else { return }
        timers.remove(at: index).cancelled()
    }

    func preconditionInEventLoop(file: StaticString, line: UInt) {
        precondition(inEventLoop, "not on the execution loop", file: file, line: line)
    }

    func preconditionNotInEventLoop(file: StaticString, line: UInt) {
        precondition(!inEventLoop, "on the execution loop", file: file, line: line)
    }

    func next() -> EventLoop { self }

    func any() -> EventLoop { self }

    func makeIterator() -> EventLoopIterator { EventLoopIterator([self]) }

    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable (Error?) -> Void) {
        DispatchQueue.global().async {
            self.stop()
            queue.async { callback(nil) }
        }
    }
}
