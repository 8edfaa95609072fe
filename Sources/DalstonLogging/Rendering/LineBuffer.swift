/// The bytes of one line being rendered: a growable raw buffer that a renderer appends to.
///
/// Renderers append a few dozen small pieces per line; a plain `[UInt8]` pays a uniqueness and
/// capacity check plus a call for each. This buffer is owned by one thread at a time (see
/// `RenderBuffer`), so appending is a capacity compare and a copy.
public struct LineBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    public private(set) var count: Int = 0
    private var capacity: Int
    /// `YYYY-MM-DDTHH:MM:SS.` of `cachedSecond`: consecutive lines mostly share their second.
    private let secondPrefix: UnsafeMutablePointer<UInt8> = .allocate(capacity: LogTimestamp.secondPrefixLength)
    private var cachedSecond: Int64 = .min

    public init(capacity: Int = 1024) {
        self.capacity = max(64, capacity)
        self.base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
        secondPrefix.deallocate()
    }

    public var isEmpty: Bool { count == 0 }

    /// Empties the buffer, keeping (up to `keepingCapacity` bytes of) its memory.
    public mutating func removeAll(keepingCapacity limit: Int = .max) {
        count = 0
        if capacity > limit {
            base.deallocate()
            capacity = 1024
            base = .allocate(capacity: capacity)
        }
    }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if count == capacity { grow(toHold: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if count + bytes.count > capacity { grow(toHold: count + bytes.count) }
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Appends pre-rendered bytes as they are.
    @inline(__always)
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// Appends a literal as is (no escaping).
    @inline(__always)
    public mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { append($0) }
    }

    /// Appends a string's UTF-8 as is (no escaping): only for text known to be safe.
    public mutating func append(raw text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// The content as a string (invalid UTF-8, which renderers never produce, is repaired).
    public var string: String {
        String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
    }

    private mutating func grow(toHold needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` (ISO-8601, UTC, microseconds), formatting the date
    /// and time of day only when the second changes.
    public mutating func append(_ timestamp: LogTimestamp) {
        if timestamp.secondsSinceEpoch != cachedSecond {
            timestamp.writeSecondPrefix(to: secondPrefix)
            cachedSecond = timestamp.secondsSinceEpoch
        }
        append(UnsafeBufferPointer(start: secondPrefix, count: LogTimestamp.secondPrefixLength))
        append(writing: 7) { LogTimestamp.writeMicroseconds(timestamp.nanoseconds, to: $0) }
    }

    /// Appends `length` bytes that `write` puts in place at the pointer it is given.
    @inline(__always)
    mutating func append(writing length: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Void) {
        if count + length > capacity { grow(toHold: count + length) }
        write(base + count)
        count += length
    }
}
