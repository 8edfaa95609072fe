import Foundation
import Testing

/// The end-to-end suites, one after another: each runs five services (plus Redis, Prometheus
/// or a trace receiver) as processes, and two such deployments at once on a two-core CI machine
/// starve every other test of CPU.
@Suite(.serialized)
enum EndToEnd {}

/// The package root (tests run from anywhere).
let repositoryRoot: URL = {
    var directory = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { directory.deleteLastPathComponent() }
    return directory
}()
