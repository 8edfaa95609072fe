import DalstonAudio
import DalstonPipeline
import DalstonRealtime
import Foundation
import Logging

/// Keeps what a session asked to keep (`store_audio`, `store_transcript`): its audio as 16-bit
/// mono at the client's rate, spooled to this machine's disk while the session runs (memory stays
/// flat however long it is), then stored in the artifact store as `sessions/<id>/audio.wav`, and
/// the final transcript as `sessions/<id>/transcript.json`. A store that fails costs the copy, not
/// the session: the failure is logged.
final class SessionRecorder {
    let settings: SessionSettings
    private let artifacts: any ArtifactStore
    private let spool: URL?
    private var handle: FileHandle?
    private var decoder: AudioFrameDecoder
    private var spooledBytes = 0
    private let logger: Logger

    init?(settings: SessionSettings, artifacts: (any ArtifactStore)?, spoolDirectory: URL, logger: Logger) {
        guard let artifacts, settings.storeAudio || settings.storeTranscript else { return nil }
        self.settings = settings
        self.artifacts = artifacts
        self.logger = logger
        decoder = AudioFrameDecoder(encoding: settings.encoding, sampleRate: settings.sampleRate, outputRate: settings.sampleRate)
        guard settings.storeAudio else {
            spool = nil
            return
        }
        let file = spoolDirectory.appendingPathComponent("\(FileArtifactStore.safeComponent(settings.sessionID)).\(UUID().uuidString).pcm")
        do {
            try FileManager.default.createDirectory(at: spoolDirectory, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: file.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
            handle = try FileHandle(forWritingTo: file)
            spool = file
        } catch {
            logger.warning("session_audio_not_recorded", metadata: ["error": "\(error)"])
            spool = nil
        }
    }

    deinit {
        try? handle?.close()
        if let spool { try? FileManager.default.removeItem(at: spool) }
    }

    /// The client's audio frame, as it came.
    func record(_ bytes: [UInt8]) {
        guard let handle else { return }
        let samples = WAVEncoder.pcm16LittleEndian(decoder.decode(bytes))
        do {
            try handle.write(contentsOf: samples)
            spooledBytes += samples.count
        } catch {
            logger.warning("session_audio_not_recorded", metadata: ["error": "\(error)"])
            try? handle.close()
            self.handle = nil
        }
    }

    private var finished = false

    /// Stores what was asked for, once (later calls do nothing); the references stored.
    @discardableResult
    func finish(summary: SessionSummary?) async -> [ArtifactReference] {
        guard !finished else { return [] }
        finished = true
        var stored: [ArtifactReference] = []
        let owner = ArtifactOwner.session(settings.sessionID)
        if let handle, let spool {
            try? handle.close()
            self.handle = nil
            let reference = ArtifactReference(owner: owner, name: "audio.wav")
            do {
                try await storeAudio(from: spool, to: reference)
                stored.append(reference)
            } catch {
                logger.warning("session_audio_not_stored", metadata: ["error": "\(error)"])
            }
        }
        if settings.storeTranscript, let summary {
            let reference = ArtifactReference(owner: owner, name: "transcript.json")
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try await artifacts.write(Array(try encoder.encode(summary)), to: reference)
                stored.append(reference)
            } catch {
                logger.warning("session_transcript_not_stored", metadata: ["error": "\(error)"])
            }
        }
        if !stored.isEmpty {
            logger.info("session_artifacts_stored", metadata: ["artifacts": "\(stored.map(\.name).joined(separator: ","))", "audio_bytes": "\(spooledBytes)"])
        }
        return stored
    }

    /// The WAV header, then the spooled samples a megabyte at a time.
    private func storeAudio(from spool: URL, to reference: ArtifactReference) async throws {
        let writer = try await artifacts.makeWriter(for: reference)
        do {
            try await writer.append(WAVEncoder.header16BitMono(sampleRate: settings.sampleRate, dataBytes: spooledBytes))
            let reader = try FileHandle(forReadingFrom: spool)
            defer { try? reader.close() }
            while let chunk = try reader.read(upToCount: 1 << 20), !chunk.isEmpty {
                try await writer.append(Array(chunk))
            }
            try await writer.commit()
        } catch {
            await writer.discard()
            throw error
        }
    }
}
