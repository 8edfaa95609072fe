public import Foundation

/// Real speech for recognition tests, made at test time with Festival's US English voice
/// (PocketSphinx does not understand espeak-ng's voice).
public enum TestSpeech {
    public static let text2wave: String? = ["/usr/bin/text2wave", "/usr/local/bin/text2wave"].first { FileManager.default.isExecutableFile(atPath: $0) }
    public static var isAvailable: Bool { text2wave != nil }
    /// Run when Festival is installed, and always under `make test` and CI (where its absence fails).
    public static var shouldRun: Bool { isAvailable || TestTools.areRequired }
    public static let skipReason = "festival is not installed (apt-get install festival festvox-us-slt-hts); under `make test` or CI this is a failure"

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// A WAV file speaking `text` (cached per text for the test run).
    public static func wav(saying text: String) async throws -> URL {
        guard let text2wave else { throw Unavailable(description: skipReason) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-test-speech", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = String(text.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.map(Character.init).prefix(60))
        let output = directory.appendingPathComponent("\(name)-\(text.hashValue & 0xffff).wav")
        if FileManager.default.fileExists(atPath: output.path) { return output }
        let input = directory.appendingPathComponent("\(UUID().uuidString).txt")
        try text.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let temporary = directory.appendingPathComponent("\(UUID().uuidString).wav")
        // Festival takes seconds: it runs off the concurrency pool (see `runProcess`).
        let result = try await runProcess(
            URL(fileURLWithPath: text2wave), arguments: ["-eval", "(voice_cmu_us_slt_arctic_hts)", input.path, "-o", temporary.path])
        guard result.status == 0, FileManager.default.fileExists(atPath: temporary.path) else {
            throw Unavailable(description: "text2wave failed with status \(result.status); is festvox-us-slt-hts installed? \(result.stderr.suffix(300))")
        }
        try? FileManager.default.moveItem(at: temporary, to: output)
        return output
    }
}
