import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `--follow`: tails the files and hands on each new line of the followed ids (or every line
/// when no id is given) as it is written, following links as they appear and reopening a file
/// that was rotated or truncated.
package final class LogFollower {
    private struct Tailed {
        let path: String
        var reader: LineReader
        var inode: UInt64
    }

    private var files: [Tailed] = []
    private var selection: Selection
    private let everything: Bool
    private let scanner = FieldScanner(keys: LogSearch.scannedKeys)

    package init(paths: [String], identifiers: [IdentifierKind: Set<String>]) throws {
        selection = Selection(identifiers)
        everything = identifiers.values.allSatisfy(\.isEmpty)
        for path in paths {
            let size = Self.status(path)?.size ?? 0
            files.append(Tailed(path: path, reader: try LineReader(path: path, startingAt: size), inode: Self.status(path)?.inode ?? 0))
        }
    }

    /// Polls every `interval` until `shouldStop`, calling `emit` with each matching line.
    package func run(interval: Duration = .milliseconds(250), shouldStop: () -> Bool = { false }, emit: (String) -> Void) throws {
        var found = [Range<Int>?](repeating: nil, count: LogSearch.scannedKeys.count)
        while !shouldStop() {
            for index in files.indices {
                if let current = Self.status(files[index].path), current.inode != files[index].inode || current.size < files[index].reader.offset {
                    // Rotated (a new file under the name) or truncated: read the new one from its start.
                    files[index] = Tailed(path: files[index].path, reader: try LineReader(path: files[index].path), inode: current.inode)
                }
                try files[index].reader.forEachLine(holdPartialLine: true) { line in
                    if everything {
                        emit(String(decoding: line, as: UTF8.self))
                    } else if scanner.scan(line, found: &found) == .object, selection.matches(line, found) {
                        _ = selection.learn(line, found)
                        emit(String(decoding: line, as: UTF8.self))
                    }
                    return true
                }
            }
            usleep(UInt32(max(1, interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000)))
        }
    }

    private static func status(_ path: String) -> (inode: UInt64, size: Int)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_ino), Int(info.st_size))
    }
}
