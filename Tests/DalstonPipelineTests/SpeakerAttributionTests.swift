import DalstonEngines
import DalstonPipeline
import Testing

/// Laying the diarizer's turns over the recogniser's words and segments, and the graph that
/// runs diarization beside transcription.
@Suite("Speakers: attribution and the graph")
struct SpeakerAttributionTests {
    static let turns = [
        SpeakerTurn(start: 0.0, end: 2.0, speaker: "SPEAKER_00"), SpeakerTurn(start: 2.2, end: 4.0, speaker: "SPEAKER_01"),
        SpeakerTurn(start: 4.5, end: 6.0, speaker: "SPEAKER_00"),
    ]

    @Test func eachWordTakesTheSpeakerThatOverlapsItMostAndAPausedWordTheNearest() {
        #expect(SpeakerAttribution.speaker(from: 0.5, to: 0.9, turns: Self.turns) == "SPEAKER_00")
        // 1.9…2.5: 0.1 s of the first speaker, 0.3 s of the second.
        #expect(SpeakerAttribution.speaker(from: 1.9, to: 2.5, turns: Self.turns) == "SPEAKER_01")
        // In the pause 4.0…4.5, nearer the third turn.
        #expect(SpeakerAttribution.speaker(from: 4.35, to: 4.45, turns: Self.turns) == "SPEAKER_00")
        #expect(SpeakerAttribution.speaker(from: 1, to: 2, turns: []) == nil)
    }

    @Test func aSegmentIsSplitWhereItsSpeakerChangesAndKeptWholeOtherwise() {
        let words = [
            TranscriptWord(text: "hello", start: 0.2, end: 0.6), TranscriptWord(text: "there", start: 0.7, end: 1.2),
            TranscriptWord(text: "hi", start: 2.4, end: 2.8), TranscriptWord(text: "again", start: 4.6, end: 5.0),
        ]
        let segments = [
            TranscriptSegment(id: 0, start: 0.1, end: 3.0, text: "Hello there. Hi!"), TranscriptSegment(id: 1, start: 4.5, end: 5.2, text: "Again."),
        ]
        let (spoken, split) = SpeakerAttribution.attribute(words: words, segments: segments, turns: Self.turns)
        #expect(spoken.map(\.speaker) == ["SPEAKER_00", "SPEAKER_00", "SPEAKER_01", "SPEAKER_00"])
        #expect(split.map(\.text) == ["hello there", "hi", "Again."], "split segments are rebuilt from their words; a whole one keeps its text")
        #expect(split.map(\.speaker) == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"])
        #expect(split.map(\.id) == [0, 1, 2])
        #expect(split[0].start == 0.1 && split[0].end == 1.2 && split[1].start == 2.4 && split[1].end == 3.0, "the pieces keep the segment's outer edges")
    }

    @Test func diarizationRunsBesideTranscriptionAndMergeWaitsForBoth() throws {
        var job = JobRecord(id: "job_d", requestID: "req_d")
        #expect(try JobGraph.plan(for: job).tasks.map(\.stage) == ["prepare", "transcribe", "merge"], "not asked: no diarize stage")
        job.speakerDetection = "diarize"
        let graph = try JobGraph.plan(for: job)
        #expect(graph.tasks.map(\.stage) == ["prepare", "transcribe", "diarize", "merge"])
        #expect(graph.tasks.first { $0.stage == "diarize" }?.inputs == ["prepare"], "it reads only the prepared audio, so it runs beside transcribe")
        #expect(graph.tasks.first { $0.stage == "merge" }?.inputs == ["prepare", "transcribe", "diarize"])
        #expect(graph.tasks.first { $0.stage == "diarize" }?.engineID == EngineKind.diarize)
    }
}
