import Synchronization

/// A counting limit on uploads in progress: a request takes a slot or is refused at once, so a
/// burst of uploads is answered with 503 rather than held in memory and on disk together.
final class UploadSlots: Sendable {
    let limit: Int
    private let taken = Mutex(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// A slot, or nil when all are taken.
    func take() -> Slot? {
        let granted = taken.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        return granted ? Slot(owner: self) : nil
    }

    var inUse: Int { taken.withLock { $0 } }

    fileprivate func give() {
        taken.withLock { $0 -= 1 }
    }

    /// One upload's claim; `release` exactly once.
    struct Slot {
        fileprivate let owner: UploadSlots
        func release() { owner.give() }
    }
}
