/// The limits an API key's requests are held to: its own (`rate_limit`, `max_concurrent_jobs`),
/// else the gateway's defaults. Keyless gateways hold nobody to them.
package struct RequestLimits: Sendable, Equatable {
    /// Requests per minute when the key sets none.
    package var defaultRequestsPerMinute: Int?
    /// Jobs in progress at once when the key sets none.
    package var defaultConcurrentJobs: Int?

    package init(requestsPerMinute: Int? = nil, concurrentJobs: Int? = nil) {
        defaultRequestsPerMinute = requestsPerMinute
        defaultConcurrentJobs = concurrentJobs
    }

    func requestsPerMinute(for caller: AuthenticatedCaller?) -> Int? {
        guard let caller else { return nil }
        return caller.rateLimit ?? defaultRequestsPerMinute
    }

    func concurrentJobs(for caller: AuthenticatedCaller?) -> Int? {
        guard let caller else { return nil }
        return caller.maxConcurrentJobs ?? defaultConcurrentJobs
    }
}
