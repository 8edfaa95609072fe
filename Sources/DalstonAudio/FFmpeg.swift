import DalstonCore
package import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// FFmpeg (Debian's `ffmpeg` package) run as a subprocess with a time limit and bounded output:
/// it reads every format people send (MP3, M4A, Opus, FLAC, WebM, ...), and a file that makes it
/// hang or explode is stopped, never waited for.
package enum FFmpeg {
    static let ffmpeg = locate("ffmpeg")
    static let ffprobe = locate("ffprobe")

    /// Whether both tools are installed.
    package static var isAvailable: Bool { ffmpeg != nil && ffprobe != nil }

    private static func locate(_ name: String) -> URL? {
        ["/usr/bin/\(name)", "/usr/local/bin/\(name)", "/opt/homebrew/bin/\(name)"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }.map(URL.init(fileURLWithPath:))
    }

    /// What the container says of its first audio stream (`ffprobe`).
    package struct Probe: Sendable, Equatable {
        package let duration: Double
        /// nil when the container does not say.
        package let channels: Int?
    }

    /// The audio's duration in seconds and its channels, from its container (`ffprobe`).
    package static func probe(_ file: URL, timeout: Duration = .seconds(15)) async throws(AudioDecodingError) -> Probe {
        guard let ffprobe else { throw AudioDecodingError("ffprobe is not installed (apt-get install ffmpeg)") }
        let result = try await run(ffprobe, [
            "-v", "error", "-select_streams", "a:0", "-show_entries", "format=duration:stream=codec_type,channels", "-of", "default=nw=1", file.path,
        ], timeout: timeout, maximumOutput: 64 * 1024, input: file)
        let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n")
        guard lines.contains("codec_type=audio") else { throw AudioDecodingError(result.failure ?? "the file has no audio stream") }
        guard let line = lines.first(where: { $0.hasPrefix("duration=") }), let seconds = Double(line.dropFirst("duration=".count)), seconds > 0 else {
            throw AudioDecodingError(result.failure ?? "the file's duration cannot be read")
        }
        let channels = lines.first { $0.hasPrefix("channels=") }.flatMap { Int($0.dropFirst("channels=".count)) }
        return Probe(duration: seconds, channels: channels.flatMap { $0 > 0 ? $0 : nil })
    }

    /// The audio's duration in seconds, from its container (`ffprobe`).
    package static func duration(of file: URL, timeout: Duration = .seconds(15)) async throws(AudioDecodingError) -> Double {
        try await probe(file, timeout: timeout).duration
    }

    /// The first audio stream at `sampleRate`, at most `maximumSeconds` of it: mixed into one
    /// channel, or `channels` kept apart (each channel a speaker in a per-channel job).
    package static func decode(
        _ file: URL, sampleRate: Int, channels: Int = 1, maximumSeconds: Double, timeout: Duration
    ) async throws(AudioDecodingError) -> PCMAudio {
        guard let ffmpeg else { throw AudioDecodingError("ffmpeg is not installed (apt-get install ffmpeg)") }
        let channels = max(1, channels)
        let maximumBytes = Int((maximumSeconds + 1) * Double(sampleRate)) * 2 * channels
        let result = try await run(ffmpeg, [
            "-nostdin", "-v", "error", "-i", file.path, "-map", "0:a:0", "-vn", "-ac", String(channels), "-ar", String(sampleRate),
            "-t", String(maximumSeconds), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1",
        ], timeout: timeout, maximumOutput: maximumBytes, input: file)
        if let failure = result.failure, result.output.isEmpty { throw AudioDecodingError(failure) }
        guard result.output.count >= 2 * channels else { throw AudioDecodingError(result.failure ?? "no audio samples in the file") }
        // Interleaved frames: sample `frame * channels + channel`.
        let frames = result.output.count / (2 * channels)
        var decoded = [[Float]](repeating: [Float](repeating: 0, count: frames), count: channels)
        result.output.withUnsafeBytes { raw in
            for frame in 0..<frames {
                for channel in 0..<channels {
                    let offset = (frame * channels + channel) * 2
                    decoded[channel][frame] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int16.self))) / 32768
                }
            }
        }
        return PCMAudio(sampleRate: sampleRate, channels: decoded)
    }

    private struct Outcome: Sendable {
        var output: [UInt8]
        /// FFmpeg's complaint (its first error line, without the server's path), when it failed.
        var failure: String?
    }

    /// Runs a tool on its own thread, killing it at `timeout` or once its output passes
    /// `maximumOutput` bytes.
    private static func run(
        _ executable: URL, _ arguments: [String], timeout: Duration, maximumOutput: Int, input: URL
    ) async throws(AudioDecodingError) -> Outcome {
        let outcome: Result<Outcome, AudioDecodingError> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: runBlocking(executable, arguments, timeout: timeout, maximumOutput: maximumOutput, input: input))
            }
        }
        return try outcome.get()
    }

    private static func runBlocking(
        _ executable: URL, _ arguments: [String], timeout: Duration, maximumOutput: Int, input: URL
    ) -> Result<Outcome, AudioDecodingError> {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return .failure(AudioDecodingError("\(executable.lastPathComponent) could not be started"))
        }
        let killed = KillSwitch()
        let timer = DispatchWorkItem {
            killed.reason = "decoding took longer than \(Int(timeout.seconds)) s"
            kill(process.processIdentifier, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds, execute: timer)
        let errors = ErrorCollector(stderr.fileHandleForReading)
        var output: [UInt8] = []
        while true {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            output += chunk
            if output.count > maximumOutput {
                killed.reason = "the decoded audio is longer than allowed"
                kill(process.processIdentifier, SIGKILL)
                break
            }
        }
        process.waitUntilExit()
        timer.cancel()
        let complaint = errors.firstLine(hiding: input.path)
        if let reason = killed.reason { return .failure(AudioDecodingError(reason)) }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            return .success(Outcome(output: [], failure: complaint ?? "\(executable.lastPathComponent) failed (exit \(process.terminationStatus))"))
        }
        return .success(Outcome(output: output, failure: nil))
    }
}

/// Why a tool was stopped, set from the timer's thread.
private final class KillSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: String?
    var reason: String? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// A tool's standard error, read on a thread of its own (so neither pipe can fill and stall
/// the tool), kept to its first few kilobytes.
private final class ErrorCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { if text.utf8.count < 8192 { text += String(decoding: chunk, as: UTF8.self) } }
            }
            done.signal()
        }
    }

    /// The first non-empty line, with the input's path replaced: messages reach clients.
    func firstLine(hiding path: String) -> String? {
        _ = done.wait(timeout: .now() + 2)
        let all = lock.withLock { text }
        guard let line = all.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { !$0.isEmpty }) else { return nil }
        return String(line.replacingOccurrences(of: path, with: "the file").prefix(300))
    }
}
