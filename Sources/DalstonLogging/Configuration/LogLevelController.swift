import Logging
import Synchronization

/// The process's log levels while it runs: `LOG_LEVEL` at start, changed later without a restart
/// (an admin endpoint, a broadcast on the broker) and changed back, and every logger, existing
/// ones included, sees the change on its next call.
///
/// Handlers cache their level with the controller's generation; a change bumps the generation,
/// so the cost per log call is two relaxed atomic loads.
public final class LogLevelController: Sendable {
    /// One change in effect, undone by `revert(_:)`.
    public struct Change: Sendable, Equatable {
        public let id: UInt64
        /// nil: the default level; otherwise a logger-label prefix (`dalston.redis`).
        public let labelPrefix: String?
        public let level: Logger.Level
        /// What the prefix's level was before (nil: it had no override of its own).
        public let previous: Logger.Level?
    }

    private struct State {
        var policy: LogLevelPolicy
        var nextChangeID: UInt64 = 1
        var changes: [UInt64: Change] = [:]
    }

    private let state: Mutex<State>
    let generation = Atomic<UInt64>(1)

    public init(_ policy: LogLevelPolicy) {
        state = Mutex(State(policy: policy))
    }

    public var policy: LogLevelPolicy { state.withLock { $0.policy } }

    public func level(forLabel label: String) -> Logger.Level {
        state.withLock { $0.policy.level(forLabel: label) }
    }

    /// Sets `level` for every logger (`labelPrefix` nil) or for those under a label prefix.
    @discardableResult
    public func set(_ level: Logger.Level, forLabelPrefix labelPrefix: String? = nil) -> Change {
        let change = state.withLock { state -> Change in
            let prefix = labelPrefix?.lowercased()
            let previous = prefix.map { state.policy.overrideLevel(forPrefix: $0) } ?? state.policy.defaultLevel
            let change = Change(id: state.nextChangeID, labelPrefix: prefix, level: level, previous: previous)
            state.nextChangeID += 1
            state.changes[change.id] = change
            state.policy.apply(level, forPrefix: prefix)
            return change
        }
        generation.add(1, ordering: .releasing)
        return change
    }

    /// Undoes a change if it is still the one in effect for its prefix; false when a later change
    /// replaced it (that one stands).
    @discardableResult
    public func revert(_ change: Change) -> Bool {
        let reverted = state.withLock { state -> Bool in
            guard state.changes.removeValue(forKey: change.id) != nil else { return false }
            let current = change.labelPrefix.map { state.policy.overrideLevel(forPrefix: $0) } ?? state.policy.defaultLevel
            guard current == change.level, !state.changes.values.contains(where: { $0.labelPrefix == change.labelPrefix && $0.id > change.id }) else {
                return false
            }
            state.policy.apply(change.previous, forPrefix: change.labelPrefix)
            return true
        }
        if reverted { generation.add(1, ordering: .releasing) }
        return reverted
    }
}

/// A handler's level with the controller generation it was computed at, packed in one word.
final class CachedLevel: Sendable {
    private let packed = Atomic<UInt64>(0)

    func level(label: String, controller: LogLevelController) -> Logger.Level {
        let current = controller.generation.load(ordering: .acquiring)
        let value = packed.load(ordering: .relaxed)
        if value >> 8 == current { return Logger.Level(rank: UInt8(truncatingIfNeeded: value)) }
        let level = controller.level(forLabel: label)
        packed.store(current << 8 | UInt64(level.rank), ordering: .relaxed)
        return level
    }
}

extension Logger.Level {
    init(rank: UInt8) {
        self = switch rank {
        case 0: .trace
        case 1: .debug
        case 2: .info
        case 3: .notice
        case 4: .warning
        case 5: .error
        default: .critical
        }
    }

    var rank: UInt8 {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }
}

extension LogLevelPolicy {
    /// The level an override gives exactly this prefix (nil when it has none of its own).
    func overrideLevel(forPrefix prefix: String) -> Logger.Level? {
        overrides.first { $0.labelPrefix == prefix }?.level
    }

    /// Sets (or with nil removes) the default level (`prefix` nil) or a prefix's override.
    mutating func apply(_ level: Logger.Level?, forPrefix prefix: String?) {
        guard let prefix else {
            if let level { defaultLevel = level }
            return
        }
        var table = Dictionary(uniqueKeysWithValues: overrides.map { ($0.labelPrefix, $0.level) })
        table[prefix] = level
        self = LogLevelPolicy(defaultLevel: defaultLevel, overrides: table)
    }
}
