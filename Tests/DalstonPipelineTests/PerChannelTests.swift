import DalstonAudio
import DalstonBroker
import DalstonEngines
import DalstonPipeline
import DalstonTestSupport
import Foundation
import Testing

/// Per-channel transcription: the graph's rows for it, and a stereo recording with one voice on
/// each channel through prepare, a transcription per channel and merge.
@Suite("Speakers: one per channel")
struct PerChannelTests {
    @Test func aPerChannelJobTranscribesEachChannelInParallelAndMergesThemAll() throws {
        var job = JobRecord(id: "job_c", requestID: "req_c")
        job.speakerDetection = SpeakerDetection.perChannel
        job.audioChannels = 3
        job.recognizer = EngineKind.whisper
        let graph = try JobGraph.plan(for: job)
        #expect(graph.tasks.map(\.stage) == ["prepare", "transcribe_ch0", "transcribe_ch1", "transcribe_ch2", "merge"])
        #expect(graph.tasks[0].parameters == ["split_channels": .number(3)], "prepare keeps the three channels apart")
        for channel in 0..<3 {
            let task = try #require(graph.task(stage: "transcribe_ch\(channel)"))
            #expect(task.inputs == ["prepare"], "each reads only prepare, so all run at once")
            #expect(task.engineID == EngineKind.whisper && task.parameters == ["channel": .number(Double(channel))])
        }
        #expect(graph.task(stage: "merge")?.inputs == ["prepare", "transcribe_ch0", "transcribe_ch1", "transcribe_ch2"])
        #expect(graph.ready(statuses: ["prepare": .completed]).map(\.stage) == ["transcribe_ch0", "transcribe_ch1", "transcribe_ch2"])
        #expect(PipelineStages.engine(of: "transcribe_ch1", in: job) == EngineKind.whisper, "metrics name the channel's engine")

        job.audioChannels = 1
        #expect(try JobGraph.plan(for: job).tasks.map(\.stage) == ["prepare", "transcribe", "merge"], "one channel is transcribed as usual")
    }

    @Test func theRecordKeepsTheChannelsAndTheOutputStyle() throws {
        var job = JobRecord(id: "job_r", requestID: "req_r")
        job.speakerDetection = SpeakerDetection.perChannel
        job.audioChannels = 2
        job.channelOutput = "combined"
        let read = try #require(JobRecord(fields: job.fields))
        #expect(read.audioChannels == 2 && read.channelOutput == "combined" && read.transcribedChannels == 2)
    }

    @Test func oneChannelOfAPerChannelTranscriptIsATranscriptOfItsOwn() {
        var transcript = Transcript(
            text: "hi there hello", languageCode: "en", duration: 3,
            segments: [
                TranscriptSegment(id: 0, start: 0, end: 1, text: "hi there", speaker: "SPEAKER_00"),
                TranscriptSegment(id: 1, start: 1.5, end: 2.5, text: "hello", speaker: "SPEAKER_01"),
            ],
            words: [
                TranscriptWord(text: "hi", start: 0, end: 0.4, speaker: "SPEAKER_00", channel: 0),
                TranscriptWord(text: "there", start: 0.5, end: 1, speaker: "SPEAKER_00", channel: 0),
                TranscriptWord(text: "hello", start: 1.5, end: 2.5, speaker: "SPEAKER_01", channel: 1),
            ])
        transcript.segments[0].channel = 0
        transcript.segments[1].channel = 1
        transcript.channels = [
            TranscriptChannel(channel: 0, languageCode: "en", languageProbability: 0.9),
            TranscriptChannel(channel: 1, languageCode: "de", languageProbability: 0.8),
        ]
        let second = transcript.channel(transcript.channels?[1] ?? TranscriptChannel(channel: 1, languageCode: "", languageProbability: nil))
        #expect(second.text == "hello" && second.words.map(\.text) == ["hello"] && second.languageCode == "de" && second.speakers == ["SPEAKER_01"])
    }

    @Test(.enabled(if: TranscribeEngine.isAvailable && TestSpeech.shouldRun, "needs PocketSphinx and Festival"))
    func aStereoRecordingWithAVoicePerChannelIsTranscribedPerChannelInTimeOrder() async throws {
        let left = try WAVDecoder.decode(Array(try Data(contentsOf: try await TestSpeech.wav(saying: "hello world, this is the left channel"))))
        let right = try WAVDecoder.decode(Array(try Data(contentsOf: try await TestSpeech.wav(saying: "good morning, the weather is fine today"))))
        // Left speaks first; right answers after it, each silent while the other speaks.
        let gap = left.frameCount + left.sampleRate / 2
        let frames = gap + right.frameCount
        var channels = [[Float]](repeating: [Float](repeating: 0, count: frames), count: 2)
        channels[0].replaceSubrange(0..<left.frameCount, with: left.channels[0])
        channels[1].replaceSubrange(gap..<frames, with: right.channels[0])
        let stereo = Self.wav16(PCMAudio(sampleRate: left.sampleRate, channels: channels))

        let harness = try PipelineHarness(engines: [AudioPrepareEngine(), try TranscribeEngine.make(), MergeEngine()])
        try await withTeardown({ await harness.stop() }) {
            var submission = JobSubmission(audio: stereo, filename: "stereo.wav", requestID: "req_stereo")
            submission.speakerDetection = SpeakerDetection.perChannel
            submission.audioChannels = 2
            let submitted = try await harness.jobs.submit(submission)
            let done = try await harness.waitForFinalState(submitted.id, timeout: .seconds(120))
            #expect(done.status == .completed, "error: \(done.error ?? "")")
            let transcript = try #require(done.transcript)
            #expect(transcript.speakers == ["SPEAKER_00", "SPEAKER_01"])
            #expect(transcript.channels?.map(\.channel) == [0, 1])
            let leftWords = transcript.words.filter { $0.channel == 0 }.map(\.text).joined(separator: " ")
            let rightWords = transcript.words.filter { $0.channel == 1 }.map(\.text).joined(separator: " ")
            #expect(leftWords.contains("hello") && leftWords.contains("world") && !leftWords.contains("weather"), "left: \(leftWords)")
            #expect(rightWords.contains("morning") && rightWords.contains("weather") && !rightWords.contains("hello"), "right: \(rightWords)")
            #expect(transcript.words.allSatisfy { $0.speaker == ($0.channel == 0 ? "SPEAKER_00" : "SPEAKER_01") })
            #expect(transcript.words.map(\.start) == transcript.words.map(\.start).sorted(), "words in time order across channels")
            #expect(transcript.segments.map(\.id) == Array(transcript.segments.indices))
            #expect(transcript.segments.first?.channel == 0 && transcript.segments.last?.channel == 1, "\(transcript.segments)")
            #expect(transcript.text.hasPrefix(transcript.segments[0].text))
            let stages = try #require(try await harness.jobs.record(submitted.id, visibleTo: nil)).tasks.keys.sorted()
            #expect(stages == ["merge", "prepare", "transcribe_ch0", "transcribe_ch1"])
        }
    }

    /// 16-bit PCM WAV with every channel of `audio`, interleaved.
    static func wav16(_ audio: PCMAudio) -> [UInt8] {
        let channels = audio.channels.count
        let dataSize = audio.frameCount * channels * 2
        var bytes: [UInt8] = []
        func append32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        func append16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        bytes += Array("RIFF".utf8); append32(UInt32(36 + dataSize)); bytes += Array("WAVE".utf8)
        bytes += Array("fmt ".utf8); append32(16); append16(1); append16(UInt16(channels))
        append32(UInt32(audio.sampleRate)); append32(UInt32(audio.sampleRate * channels * 2)); append16(UInt16(channels * 2)); append16(16)
        bytes += Array("data".utf8); append32(UInt32(dataSize))
        for frame in 0..<audio.frameCount {
            for channel in 0..<channels {
                append16(UInt16(bitPattern: Int16(max(-1, min(1, audio.channels[channel][frame])) * 32767)))
            }
        }
        return bytes
    }
}
