import NIOCore

/// Runs a task's jobs on a connection's event loop, so that a task talking to Redis writes its
/// commands and is resumed with their replies on the loop that does the I/O.
///
/// Without it every round trip crosses threads twice: the command goes from a cooperative-pool
/// thread to the event loop, and the reply wakes a pool thread to resume the caller. With the
/// task on the loop, writing is a call and resuming is a job queued on the same thread.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
