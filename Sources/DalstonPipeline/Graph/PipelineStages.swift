/// One row of the pipeline's table: a stage, its engine, the stages it reads, and when a job
/// needs it. A new stage (diarize beside transcribe, a transcription per channel) is a new row.
package struct StageRule: Sendable {
    package let stage: String
    package let inputs: [String]
    private let chooseEngine: @Sendable (JobRecord) -> String
    private let condition: @Sendable (JobRecord) -> Bool

    package init(_ stage: String, engine: String, reads inputs: [String] = [], when condition: @escaping @Sendable (JobRecord) -> Bool = { _ in true }) {
        self.init(stage, engineFor: { _ in engine }, reads: inputs, when: condition)
    }

    /// A stage whose engine depends on the job (the transcribe stage's on its model).
    package init(
        _ stage: String, engineFor chooseEngine: @escaping @Sendable (JobRecord) -> String, reads inputs: [String] = [],
        when condition: @escaping @Sendable (JobRecord) -> Bool = { _ in true }
    ) {
        self.stage = stage
        self.inputs = inputs
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

    package static let rules: [StageRule] = [
        StageRule(prepare, engine: EngineKind.audioPrepare),
        StageRule(transcribe, engineFor: { $0.recognizer ?? EngineKind.transcribe }, reads: [prepare]),
        StageRule(diarize, engine: EngineKind.diarize, reads: [prepare], when: \.diarizes),
        StageRule(merge, engine: EngineKind.merge, reads: [prepare, transcribe], when: { !$0.diarizes }),
        StageRule(merge, engine: EngineKind.merge, reads: [prepare, transcribe, diarize], when: \.diarizes),
    ]

    /// The engine that runs `stage` of `job` (for metrics labelled by engine).
    package static func engine(of stage: String, in job: JobRecord) -> String? {
        rules.first { $0.stage == stage }?.engine(for: job)
    }
}
