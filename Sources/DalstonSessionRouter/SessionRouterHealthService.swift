import Foundation
import Logging
import ServiceLifecycle

/// The router's health loop, in every gateway: releases reservations of dead gateways, marks
/// silent workers offline, and samples the router's gauges.
package struct SessionRouterHealthService: Service {
    let router: SessionRouter
    let records: (any RealtimeSessionArchive)?

    package init(router: SessionRouter, records: (any RealtimeSessionArchive)? = nil) {
        self.router = router
        self.records = records
    }

    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let report = try await router.reconcile()
                await closeRecords(of: report.releasedSessions)
            } catch {
                router.logger.warning("session_router_reconcile_failed", metadata: ["error": "\(error.description)"])
            }
            try? await gracefulShutdownAware(sleep: .seconds(router.options.reconcileInterval))
        }
    }
}

extension SessionRouterHealthService {
    /// Sessions whose gateway died never got their final record: they end as `error`, unless
    /// their relay ended them meanwhile (the write is conditional on the record still being
    /// active, so this loop never overwrites how a session really ended).
    func closeRecords(of sessions: [String]) async {
        guard let records else { return }
        for sessionID in sessions {
            do {
                guard var record = try await records.record(sessionID), record.status == "active" else { continue }
                record.status = "error"
                record.error = "gateway_lost"
                record.endedAt = Date()
                _ = try await records.saveIfActive(record)
            } catch {
                router.logger.warning("session_record_update_failed", metadata: ["session_id": "\(sessionID)", "error": "\(error)"])
            }
        }
    }
}

/// Sleeps, waking early at graceful shutdown.
func gracefulShutdownAware(sleep duration: Duration) async throws {
    try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
