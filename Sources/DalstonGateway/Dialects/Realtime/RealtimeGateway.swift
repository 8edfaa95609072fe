package import DalstonSessionRouter

/// What the gateway needs for live sessions: the router that finds workers, and where sessions
/// are recorded.
package struct RealtimeGateway: Sendable {
    package let router: SessionRouter
    package let records: any RealtimeSessionArchive

    package init(router: SessionRouter, records: any RealtimeSessionArchive) {
        self.router = router
        self.records = records
    }
}
