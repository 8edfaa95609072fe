public import Logging
import Synchronization

/// The process's log levels while it runs: `LOG_LEVEL` at start, changed later without a restart
/// (an admin endpoint, a broadcast on the broker) and changed back, and every logger, existing
/// ones included, sees the change on its next call.
///
/// Each logger label has a cell holding its level, which handlers read with one relaxed atomic
/// load per call; a change recomputes every cell under the controller's lock (changes are rare,
/// log calls are not).
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
        var cells: [String: LabelLevel] = [:]

        /// Brings every label's cell to the current policy.
        func refreshCells() {
            for (label, cell) in cells { cell.store(policy.level(forLabel: label)) }
        }
    }

    private let state: Mutex<State>
    /// Labels kept current; a process making loggers with endless distinct labels gets cells
    /// that ask the controller on every call instead of growing the table without bound.
    static let maximumTrackedLabels = 4096

    public init(_ policy: LogLevelPolicy) {
        state = Mutex(State(policy: policy))
    }

    public var policy: LogLevelPolicy { state.withLock { $0.policy } }

    public func level(forLabel label: String) -> Logger.Level {
        state.withLock { $0.policy.level(forLabel: label) }
    }

    /// The cell a handler for `label` reads its level from.
    func cell(forLabel label: String) -> LabelLevel {
        state.withLock { state in
            if let cell = state.cells[label] { return cell }
            let level = state.policy.level(forLabel: label)
            guard state.cells.count < Self.maximumTrackedLabels else { return LabelLevel.untracked }
            let cell = LabelLevel(level)
            state.cells[label] = cell
            return cell
        }
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
            state.refreshCells()
            return change
        }
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
            state.refreshCells()
            return true
        }
        return reverted
    }
}

/// One logger label's level, as the controller last set it.
///
/// Cells are kept by the controller for its life (the untracked one for the process's), so
/// handlers can refer to them without reference counting.
final class LabelLevel: Sendable {
    /// The level's rank, or `untrackedRank` in the one cell shared by labels beyond the
    /// controller's table (their handlers ask the controller): one load tells both.
    private let rank: Atomic<UInt8>
    private static let untrackedRank: UInt8 = .max
    /// Never stored to; lives for the process.
    static let untracked = LabelLevel(rank: untrackedRank)

    convenience init(_ level: Logger.Level) {
        self.init(rank: level.rank)
    }

    private init(rank: UInt8) {
        self.rank = Atomic(rank)
    }

    /// nil for an untracked label.
    @inline(__always)
    var trackedLevel: Logger.Level? {
        let rank = rank.load(ordering: .relaxed)
        return rank == Self.untrackedRank ? nil : Logger.Level(rank: rank)
    }

    func store(_ level: Logger.Level) {
        rank.store(level.rank, ordering: .relaxed)
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
