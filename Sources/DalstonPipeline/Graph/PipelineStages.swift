package import DalstonBroker

/// One row of the pipeline's table: a stage, its engine, the stages it reads, and when a job
/// needs it. A new stage (diarize beside transcribe, a transcription per channel) is a new row.
package struct StageRule: Sendable {
    package let stage: String
    package let inputs: [String]
    /// What the stage's task is given besides the job's fields (the channel a per-channel
    /// transcription reads, say).
    package let parameters: [String: JSONValue]
    private let chooseEngine: @Sendable (JobRecord) -> String
    private let condition: @Sendable (JobRecord) -> Bool

    package init(
        _ stage: String, engine: String, reads inputs: [String] = [], parameters: [String: JSONValue] = [:],
        when condition: @escaping @Sendable (JobRecord) -> Bool = { _ in true }
    ) {
        self.init(stage, engineFor: { _ in engine }, reads: inputs, parameters: parameters, when: condition)
    }

    /// A stage whose engine depends on the job (the transcribe stage's on its model).
    package init(
        _ stage: String, engineFor chooseEngine: @escaping @Sendable (JobRecord) -> String, reads inputs: [String] = [],
        parameters: [String: JSONValue] = [:], when condition: @escaping @Sendable (JobRecord) -> Bool = { _ in true }
    ) {
        self.stage = stage
        self.inputs = inputs
        self.parameters = parameters
        self.chooseEngine = chooseEngine
        self.condition = condition
    }

    package func applies(_ job: JobRecord) -> Bool { condition(job) }

    package func engine(for job: JobRecord) -> String { chooseEngine(job) }
}

/// The batch pipeline as a table.
package enum PipelineStages {
    /// Decodes the upload into 16 kHz mono: a failure there is the audio's fault.
    package static let prepare = "prepare"
    package static let transcribe = "transcribe"
    /// Who spoke when, beside transcription (both read only the prepared audio).
    package static let diarize = "diarize"
    /// Joins the recognisers' outputs into the transcript (`result.json`).
    package static let merge = "merge"
    /// The stage whose output `result` is the job's transcript.
    package static let result = merge

    /// The task parameter naming the channel a per-channel transcription reads (0 is the first).
    package static let channelParameter = "channel"
    /// The prepare task's parameter asking for each channel kept apart (their count).
    package static let splitChannelsParameter = "split_channels"
    /// The merge task's parameter saying how many channel transcriptions it joins.
    package static let channelsParameter = "channels"

    /// The rows of a job with one mixed channel.
    package static let rules: [StageRule] = [
        StageRule(prepare, engine: EngineKind.audioPrepare),
        StageRule(transcribe, engineFor: recognizer, reads: [prepare]),
        StageRule(diarize, engine: EngineKind.diarize, reads: [prepare], when: \.diarizes),
        StageRule(merge, engine: EngineKind.merge, reads: [prepare, transcribe], when: { !$0.diarizes }),
        StageRule(merge, engine: EngineKind.merge, reads: [prepare, transcribe, diarize], when: \.diarizes),
    ]

    /// The rows of `job`: those of `rules`, or for a per-channel job a prepare that keeps the
    /// channels apart, a transcription per channel (in parallel), and a merge of them all.
    package static func rules(for job: JobRecord) -> [StageRule] {
        guard let channels = job.transcribedChannels else { return rules }
        let transcriptions = (0..<channels).map { channel in
            StageRule(transcribe(channel: channel), engineFor: recognizer, reads: [prepare], parameters: [channelParameter: .number(Double(channel))])
        }
        return [StageRule(prepare, engine: EngineKind.audioPrepare, parameters: [splitChannelsParameter: .number(Double(channels))])]
            + transcriptions
            + [StageRule(merge, engine: EngineKind.merge, reads: [prepare] + transcriptions.map(\.stage), parameters: [channelsParameter: .number(Double(channels))])]
    }

    /// `transcribe_ch0`, `transcribe_ch1`…: the transcription of one channel (as the original names it).
    package static func transcribe(channel: Int) -> String { "\(transcribe)_ch\(channel)" }

    /// The transcribe stage's engine: the job's recogniser (PocketSphinx's when none is named).
    private static func recognizer(_ job: JobRecord) -> String { job.recognizer ?? EngineKind.transcribe }

    /// The engine that runs `stage` of `job` (for metrics labelled by engine).
    package static func engine(of stage: String, in job: JobRecord) -> String? {
        rules(for: job).first { $0.stage == stage }?.engine(for: job)
    }
}
