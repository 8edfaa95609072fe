import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Lines from a file (gzip-compressed when its name ends in `.gz`) or from standard input, read
/// in 1 MB blocks: memory stays bounded whatever the input's size. A line longer than
/// `maximumLineBytes` is cut there (and counted as malformed by the caller, since it no longer
/// parses).
package final class LineReader {
    package static let maximumLineBytes = 4 * 1024 * 1024

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var inflater: Inflater?
    private var pending: [UInt8] = []
    private var position = 0
    private var finished = false
    /// Bytes read from the file so far (for `--follow`: where to continue).
    package private(set) var offset: Int = 0

    package struct Unreadable: Error, CustomStringConvertible {
        package let description: String
    }

    /// `path` nil (or `-`) reads standard input.
    package init(path: String?, startingAt start: Int = 0) throws {
        if let path, path != "-" {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw Unreadable(description: "\(path): \(String(cString: strerror(errno)))") }
            ownsDescriptor = true
            if start > 0 { lseek(descriptor, off_t(start), SEEK_SET) }
            offset = start
            if path.hasSuffix(".gz") { inflater = try Inflater(path: path) }
        } else {
            descriptor = STDIN_FILENO
            ownsDescriptor = false
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// Calls `body` with each complete line (without its newline) until the input ends or `body`
    /// returns false. At the end of input a last line without a newline is passed too, unless
    /// `holdPartialLine` (a file still being written: it is kept for the next call).
    package func forEachLine(holdPartialLine: Bool = false, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        while true {
            // Lines already in the buffer.
            while let newline = nextNewline() {
                let keepGoing = try pending.withUnsafeBytes { bytes in
                    try body(UnsafeRawBufferPointer(rebasing: bytes[position..<newline]))
                }
                position = newline + 1
                if !keepGoing { return }
            }
            compact()
            if pending.count > Self.maximumLineBytes {
                _ = try pending.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Self.maximumLineBytes])) }
                pending.removeAll(keepingCapacity: true)
            }
            guard try fill() else {
                if !holdPartialLine && !pending.isEmpty {
                    _ = try pending.withUnsafeBytes { try body($0) }
                    pending.removeAll()
                }
                return
            }
        }
    }

    private func nextNewline() -> Int? {
        guard position < pending.count else { return nil }
        return pending.withUnsafeBytes { bytes -> Int? in
            guard let base = bytes.baseAddress, let found = memchr(base + position, 0x0A, bytes.count - position) else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        }
    }

    private func compact() {
        if position > 0 {
            pending.removeFirst(position)
            position = 0
        }
    }

    /// Reads more; false at the end of the input.
    private func fill() throws -> Bool {
        var block = [UInt8](repeating: 0, count: 1 << 20)
        let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        offset += count
        if let inflater {
            pending += try inflater.inflate(block[0..<count])
        } else {
            pending += block[0..<count]
        }
        return true
    }
}

/// gzip decompression as a stream (several concatenated members, as `logrotate` writes them).
final class Inflater {
    private var stream = z_stream()
    private let path: String

    init(path: String) throws {
        self.path = path
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw LineReader.Unreadable(description: "\(path): zlib could not start")
        }
    }

    deinit { inflateEnd(&stream) }

    func inflate(_ input: ArraySlice<UInt8>) throws -> [UInt8] {
        var output: [UInt8] = []
        var input = Array(input)
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        try input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while stream.avail_in > 0 {
                let status = chunk.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.avail_out))]
                switch status {
                case Z_OK, Z_BUF_ERROR: continue
                case Z_STREAM_END:
                    // Another gzip member may follow.
                    guard stream.avail_in > 0 else { return }
                    inflateReset(&stream)
                default:
                    throw LineReader.Unreadable(description: "\(path): not valid gzip data")
                }
            }
        }
        return output
    }
}
