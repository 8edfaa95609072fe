/// One row of the pipeline's table: a stage, its engine, the stages it reads, and when a job
/// needs it. A new stage (diarize beside transcribe, a transcription per channel) is a new row.
package struct StageRule: Sendable {
    package let stage: String
    package let engineID: String
    package let inputs: [String]
    private let condition: @Sendable (JobRecord) -> Bool

    package init(_ stage: String, engine: String, reads inputs: [String] = [], when condition: @escaping @Sendable (JobRecord) -> Bool = { _ in true }) {
        self.stage = stage
        self.engineID = engine
        self.inputs = inputs
        self.condition = condition
    }

    package func applies(_ job: JobRecord) -> Bool { condition(job) }
}

/// The batch pipeline as a table.
package enum PipelineStages {
    /// Decodes the upload into 16 kHz mono: a failure there is the audio's fault.
    package static let prepare = "prepare"
    package static let transcribe = "transcribe"
    /// Joins the recognisers' outputs into the transcript (`result.json`).
    package static let merge = "merge"
    /// The stage whose output `result` is the job's transcript.
    package static let result = merge

    package static let rules: [StageRule] = [
        StageRule(prepare, engine: EngineKind.audioPrepare),
        StageRule(transcribe, engine: EngineKind.transcribe, reads: [prepare]),
        StageRule(merge, engine: EngineKind.merge, reads: [prepare, transcribe]),
    ]

    /// The engine that runs `stage` (for metrics labelled by engine).
    package static func engine(of stage: String) -> String? {
        rules.first { $0.stage == stage }?.engineID
    }
}
