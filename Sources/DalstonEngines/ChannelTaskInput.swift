import DalstonBroker
import DalstonEngineSDK
import DalstonPipeline

extension [String: JSONValue] {
    /// The 16 kHz mono audio a recogniser or the diarizer reads: the prepare stage's
    /// `prepared_audio`, or for a per-channel transcription (a task with a `channel` parameter)
    /// that channel's own file from `channel_audio`.
    func preparedAudio() throws -> ArtifactReference {
        let prepared = try output(ofStage: PipelineStages.prepare)
        guard let channel else {
            return try prepared.requiredArtifact("prepared_audio")
        }
        guard case .array(let files)? = prepared["channel_audio"], files.indices.contains(channel),
            let key = files[channel].stringValue, let reference = ArtifactReference(key: key)
        else {
            throw PermanentEngineError("the prepare stage kept no audio of channel \(channel); the upload may have fewer channels than its header says")
        }
        return reference
    }

    /// The channel a per-channel transcription reads; nil for a task of the whole audio.
    var channel: Int? { self[PipelineStages.channelParameter]?.numberValue.map { Int($0) } }
}

extension EngineContext {
    /// The name under which this task stores its file `name`: artifact names are per job, so a
    /// stage that runs once per channel names its files after its stage
    /// (`transcribe_ch1.words.json`) and the channels never overwrite each other's.
    func ownFileName(_ name: String) -> String {
        task.input.channel == nil ? name : "\(task.stage).\(name)"
    }
}
