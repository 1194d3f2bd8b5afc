import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import XCTest
@testable import Server

/// The execution loop as an `EventLoop`: what the rest of the server relies on when it
/// hands it tasks, futures and timers (sockets are covered by the integration tests).
final class ExecutionLoopTests: XCTestCase {
    private var loop: ExecutionLoop!

    override func setUp() { loop = ExecutionLoop() }
    override func tearDown() { loop.stop() }

    func testTasksFromOtherThreadsRunOnTheLoopInOrder() throws {
        let seen = NIOLockedValueBox<[Int]>([])
        let onLoop = NIOLockedValueBox(true)
        for index in 0..<1000 {
            loop.execute { [loop] in
                if !loop!.inEventLoop { onLoop.withLockedValue { $0 = false } }
                seen.withLockedValue { $0.append(index) }
            }
        }
        try loop.submit {}.wait()
        XCTAssertEqual(seen.withLockedValue { $0 }, Array(0..<1000))
        XCTAssertTrue(onLoop.withLockedValue { $0 })
        XCTAssertFalse(loop.inEventLoop)
    }

    func testTasksQueuedFromTheLoopRunAfterTheCurrentOne() throws {
        let log = NIOLockedValueBox<[String]>([])
        try loop.submit { [loop] in
            loop!.execute { log.withLockedValue { $0.append("queued") } }
            log.withLockedValue { $0.append("current") }
        }.wait()
        try loop.submit {}.wait()
        XCTAssertEqual(log.withLockedValue { $0 }, ["current", "queued"])
    }

    func testTimersRunInDeadlineOrderAndNotEarly() throws {
        let seen = NIOLockedValueBox<[Int]>([])
        let start = DispatchTime.now().uptimeNanoseconds
        let delays = [30, 5, 20, 1, 10]
        let runs = delays.map { delay in
            loop.scheduleTask(in: .milliseconds(Int64(delay))) { () -> UInt64 in
                seen.withLockedValue { $0.append(delay) }
                return DispatchTime.now().uptimeNanoseconds - start
            }
        }
        for (delay, run) in zip(delays, runs) {
            XCTAssertGreaterThanOrEqual(try run.futureResult.wait(), UInt64(delay) * 1_000_000)
        }
        XCTAssertEqual(seen.withLockedValue { $0 }, delays.sorted())
    }

    func testSubMillisecondTimerIsNotRoundedUpToAMillisecond() throws {
        // A checkpoint steps every 200 us; epoll_wait alone would wait 1 ms each time.
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<20 {
            try loop.scheduleTask(in: .microseconds(200)) {}.futureResult.wait()
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        XCTAssertGreaterThanOrEqual(elapsed, 20 * 200_000)
        XCTAssertLessThan(elapsed, 20 * 1_000_000)
    }

    func testCancelledTimerDoesNotRunAndFailsItsFuture() throws {
        let ran = NIOLockedValueBox(false)
        let scheduled = loop.scheduleTask(in: .milliseconds(50)) { ran.withLockedValue { $0 = true } }
        scheduled.cancel()
        XCTAssertThrowsError(try scheduled.futureResult.wait()) { error in
            XCTAssertEqual(error as? EventLoopError, .cancelled)
        }
        try loop.scheduleTask(in: .milliseconds(80)) {}.futureResult.wait()
        XCTAssertFalse(ran.withLockedValue { $0 })
    }

    func testRepeatedTaskRepeatsUntilCancelled() throws {
        let count = NIOLockedValueBox(0)
        let reachedFive = loop.makePromise(of: Void.self)
        let task = loop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(2)) { _ in
            let now = count.withLockedValue { value -> Int in
                value += 1
                return value
            }
            if now == 5 { reachedFive.succeed(()) }
        }
        try reachedFive.futureResult.wait()
        let stopped = loop.makePromise(of: Void.self)
        task.cancel(promise: stopped)
        try stopped.futureResult.wait()
        let atCancel = count.withLockedValue { $0 }
        try loop.scheduleTask(in: .milliseconds(20)) {}.futureResult.wait()
        XCTAssertEqual(count.withLockedValue { $0 }, atCancel)
        XCTAssertGreaterThanOrEqual(atCancel, 5)
    }

    func testStopCancelsWhatIsStillScheduled() throws {
        let scheduled = loop.scheduleTask(in: .seconds(60)) {}
        // Registered before the stop (a stopped loop takes no more callbacks).
        let outcome = NIOLockedValueBox<Result<Void, Error>?>(nil)
        scheduled.futureResult.whenComplete { result in outcome.withLockedValue { $0 = result } }
        loop.stop()
        guard case .failure(let error) = outcome.withLockedValue({ $0 }) else {
            return XCTFail("the scheduled task was neither cancelled nor run")
        }
        XCTAssertEqual(error as? EventLoopError, .cancelled)
        loop = ExecutionLoop()  // for tearDown
    }
}
