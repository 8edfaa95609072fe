package import DalstonBroker
import Foundation
import Synchronization

/// One event subscription for every request of a process that waits for jobs to end (OpenAI's
/// and ElevenLabs' synchronous transcriptions, `dalston transcribe`), fanned out to the waiters
/// by job id. It subscribes with the first waiter and unsubscribes after the last one leaves, so
/// a busy gateway holds one subscription, not one per waiting request.
package final class JobEndWatcher: Sendable {
    private let events: any EventBus
    private let state = Mutex(State())

    private struct State {
        var waiters: [String: [UInt64: AsyncStream<Void>.Continuation]] = [:]
        var nextToken: UInt64 = 0
        var subscription: Subscription?
    }

    /// The subscription and the task that reads it, alive while anyone waits.
    private struct Subscription: Sendable {
        let stream: EventStream
        let reader: Task<Void, Never>
    }

    /// The events that end a job.
    static let finalEvents: Set<String> = [PipelineEvent.jobCompleted, PipelineEvent.jobFailed, PipelineEvent.jobCancelled]

    package init(events: any EventBus) {
        self.events = events
    }

    /// A wait for one job's end: `ended` yields once its final event arrives. Call `cancel` when
    /// done, whether it arrived or not.
    package struct Watch: Sendable {
        package let ended: AsyncStream<Void>
        let subscription: EventStream
        let cancel: @Sendable () -> Void
    }

    package func watch(_ jobID: String) -> Watch {
        let (ended, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (token, subscription) = state.withLock { state -> (UInt64, EventStream) in
            let token = state.nextToken
            state.nextToken += 1
            state.waiters[jobID, default: [:]][token] = continuation
            if let subscription = state.subscription { return (token, subscription.stream) }
            let stream = events.events()
            state.subscription = Subscription(stream: stream, reader: Task { [weak self] in
                for await event in stream {
                    guard let self else { return }
                    if let jobID = event.jobID, Self.finalEvents.contains(event.type) { self.announce(jobID) }
                }
                // The subscription ended (shutdown): waiters fall back to reading the record.
            })
            return (token, stream)
        }
        return Watch(ended: ended, subscription: subscription) { [weak self] in
            continuation.finish()
            self?.stopWatching(jobID, token: token)
        }
    }

    /// How many subscriptions are open (zero or one): for tests.
    package var subscriptionCount: Int {
        state.withLock { $0.subscription == nil ? 0 : 1 }
    }

    private func announce(_ jobID: String) {
        let waiters = state.withLock { $0.waiters[jobID].map { Array($0.values) } ?? [] }
        for waiter in waiters { waiter.yield() }
    }

    private func stopWatching(_ jobID: String, token: UInt64) {
        let ended: Subscription? = state.withLock { state in
            state.waiters[jobID]?[token] = nil
            if state.waiters[jobID]?.isEmpty == true { state.waiters[jobID] = nil }
            guard state.waiters.isEmpty, let subscription = state.subscription else { return nil }
            state.subscription = nil
            return subscription
        }
        if let ended {
            ended.stream.cancel()
            ended.reader.cancel()
        }
    }
}
