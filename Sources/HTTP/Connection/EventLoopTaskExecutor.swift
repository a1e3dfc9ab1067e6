import NIOCore

/// Runs Swift tasks on one NIO event loop. Handler tasks prefer the loop of their connection, so
/// a handler that never suspends runs to completion inline, and one that does resumes on the
/// loop: its answer is written without a thread hop.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
