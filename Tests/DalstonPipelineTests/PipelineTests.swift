import DalstonAudio
import DalstonBroker
import DalstonEngineSDK
import DalstonEngines
import DalstonLogging
import DalstonMetrics
import DalstonOrchestrator
import DalstonPipeline
import DalstonRuntime
import DalstonTestSupport
import Foundation
import Logging
import Testing

/// Everything of the batch pipeline in one process on the in-memory broker, composed by the
/// runtime exactly as `dalston up` composes it, with `engines` in the registry.
struct PipelineHarness {
    let broker: InMemoryBroker
    let jobs: JobService
    let logs: RecordingLineWriter
    let artifacts: FileArtifactStore
    private let running: RunningDeployment

    init(engines: [any Engine], maximumAttempts: Int = 3, engineWait: Duration? = .seconds(300), metrics: MetricsRuntime = .disabled) throws {
        var options = BrokerOptions()
        options.visibilityTimeout = .seconds(5)
        let broker = InMemoryBroker(options: options)
        let logs = RecordingLineWriter()
        let pipeline = LogPipeline(configuration: LoggingConfiguration(service: "test", levels: LogLevelPolicy(defaultLevel: .debug), writer: logs))
        var registry = EngineRegistry()
        for engine in engines { registry.register(.init(engine.engineID) { _ in engine }) }
        let artifacts = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-pipeline-\(UUID().uuidString)"))
        var deployment = Deployment(broker: broker, artifacts: artifacts, engines: registry, metrics: metrics)
        deployment.orchestratorOptions.maximumAttempts = maximumAttempts
        deployment.orchestratorOptions.engineWait = engineWait
        deployment.orchestratorOptions.retryBackoff = .milliseconds(50)
        deployment.orchestratorOptions.sweepInterval = .milliseconds(300)
        deployment.runnerOptions.pollInterval = .milliseconds(200)
        deployment.makeLogger = { pipeline.makeLogger(label: $0) }
        running = try deployment.start([.orchestrator] + registry.engineIDs.map { .engine($0) })
        self.broker = broker
        self.artifacts = artifacts
        self.jobs = deployment.jobService()
        self.logs = logs
    }

    func waitForFinalState(_ jobID: String, timeout: Duration = .seconds(60)) async throws -> JobView {
        try #require(try await jobs.waitForFinalState(jobID, timeout: timeout))
    }

    func stop() async {
        await running.stop()
    }

    /// The files left in a job's directory.
    func files(ofJob jobID: String) -> [String] {
        let directory = artifacts.fileURL(ArtifactReference(jobID: jobID, name: "x")).deletingLastPathComponent()
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }
}

/// An engine that fails its first `failures` attempts, then passes its input through.
struct FlakyEngine: Engine {
    let engineID: String
    let failures: Int
    let permanent: Bool

    func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        if task.attempt <= failures {
            if permanent { throw PermanentEngineError("bad input on attempt \(task.attempt)") }
            throw URLError(.timedOut)
        }
        return ["attempt": .number(Double(task.attempt))]
    }
}

@Suite("Task graph")
struct TaskGraphTests {
    @Test func prepareThenTranscribeThenMerge() throws {
        let plan = try JobGraph.plan(for: JobRecord(id: "job_1", requestID: "req_1"))
        #expect(plan.tasks.map(\.stage) == ["prepare", "transcribe", "merge"])
        #expect(plan.tasks.map(\.engineID) == ["audio-prepare", "transcribe", "merge"])
        #expect(plan.tasks.map(\.taskID) == ["job_1_prepare", "job_1_transcribe", "job_1_merge"])
        #expect(plan.tasks[1].inputs == ["prepare"] && plan.tasks[2].inputs == ["prepare", "transcribe"])
        #expect(try JobGraph.plan(for: JobRecord(id: "job_1", requestID: "req_1")) == plan, "planning is deterministic")
        #expect(plan.ready(statuses: [:]).map(\.stage) == ["prepare"])
        #expect(plan.ready(statuses: ["prepare": .queued]).isEmpty)
        #expect(plan.ready(statuses: ["prepare": .completed]).map(\.stage) == ["transcribe"])
        #expect(plan.ready(statuses: ["prepare": .completed, "transcribe": .queued]).isEmpty)
    }

    /// The transcribe stage runs on the engine of the job's model, and the record keeps the
    /// engine and the recogniser's options through a round trip of its fields.
    @Test func theTranscribeStageRunsOnTheEngineOfTheJobsModel() throws {
        var job = JobRecord(id: "job_2", requestID: "req_2", modelID: "faster-whisper-base")
        job.recognizer = EngineKind.whisper
        job.recognizerOptions = ["task": "translate", "prompt": "Dalston, \"quoted\"\nnewline"]
        let plan = try JobGraph.plan(for: job)
        #expect(plan.tasks.map(\.engineID) == ["audio-prepare", "faster-whisper", "merge"])
        #expect(PipelineStages.engine(of: "transcribe", in: job) == "faster-whisper")
        let stored = try #require(JobRecord(fields: job.fields))
        #expect(stored.recognizer == EngineKind.whisper && stored.recognizerOptions == job.recognizerOptions)
        #expect(try JobGraph.plan(for: stored) == plan)
    }

    @Test func segmentsSplitAtPauses() {
        let words = [
            TranscriptWord(text: "hello", start: 0, end: 0.4), TranscriptWord(text: "world", start: 0.45, end: 0.9),
            TranscriptWord(text: "again", start: 2.0, end: 2.4),
        ]
        let segments = MergeEngine.segments(of: words, pause: 0.8)
        #expect(segments == [
            TranscriptSegment(id: 0, start: 0, end: 0.9, text: "hello world"), TranscriptSegment(id: 1, start: 2.0, end: 2.4, text: "again"),
        ])
    }
}

@Suite("Batch pipeline in one process")
struct PipelineTests {
    @Test(.enabled(if: TranscribeEngine.isAvailable && TestSpeech.shouldRun, "needs PocketSphinx and Festival"))
    func realSpeechIsTranscribedAndEveryJobLineCarriesTheRequestID() async throws {
        let harness = try PipelineHarness(engines: [AudioPrepareEngine(), try TranscribeEngine.make(), MergeEngine()])
        try await withTeardown({ await harness.stop() }) {
            let audio = try await Array(Data(contentsOf: TestSpeech.wav(saying: "hello world, this is a test of the transcription system")))
            let submitted = try await harness.jobs.submit(JobSubmission(audio: audio, filename: "speech.wav", requestID: "req_pipeline1"))
            let done = try await harness.waitForFinalState(submitted.id)
            #expect(done.status == .completed, "error: \(done.error ?? "")")
            let transcript = try #require(done.transcript)
            for word in ["hello", "world", "test", "transcription", "system"] {
                #expect(transcript.text.contains(word), "\(word) missing from \"\(transcript.text)\"")
            }
            #expect(transcript.words.allSatisfy { $0.end > $0.start && $0.start >= 0 })
            // The upload and the intermediate files go once the job is done (issue 16), just
            // after the orchestrator records it finished.
            #expect(await eventually(timeout: .seconds(10)) { harness.files(ofJob: submitted.id) == ["result.json"] }, "\(harness.files(ofJob: submitted.id))")
            #expect(transcript.duration > 3 && transcript.duration < 5)
            #expect(!transcript.segments.isEmpty)
            #expect(done.processingTimeSeconds != nil)

            let lines = try harness.logs.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
            let jobLines = lines.filter { $0["job_id"] as? String == submitted.id }
            #expect(jobLines.count >= 10)
            #expect(jobLines.allSatisfy { $0["request_id"] as? String == "req_pipeline1" }, "every line about the job carries its request_id")
            let loggers = Set(jobLines.compactMap { $0["logger"] as? String })
            #expect(loggers.isSuperset(of: ["dalston.orchestrator", "dalston.engine.audio-prepare", "dalston.engine.transcribe", "dalston.engine.merge"]))
            #expect(jobLines.contains { $0["event"] as? String == "task_started" && $0["task_id"] as? String == "\(submitted.id)_transcribe" })
        }
    }

    @Test func corruptAudioFailsTheJobWithAReadableErrorAndOthersAreUnaffected() async throws {
        let harness = try PipelineHarness(engines: [AudioPrepareEngine(), FlakyEngine(engineID: "transcribe", failures: 0, permanent: false), FlakyEngine(engineID: "merge", failures: 0, permanent: false)])
        try await withTeardown({ await harness.stop() }) {
            let corrupt = try await harness.jobs.submit(JobSubmission(audio: Array("RIFF....WAVEjunk".utf8), filename: "bad.wav", requestID: "req_bad"))
            let good = try await harness.jobs.submit(JobSubmission(
                audio: WAVEncoder.encode16BitMono((0..<8000).map { sin(Float($0) / 8) * 0.3 }, sampleRate: 8000), filename: "ok.wav", requestID: "req_ok"))
            let failed = try await harness.waitForFinalState(corrupt.id)
            #expect(failed.status == .failed)
            #expect(failed.error?.contains("unsupported or corrupt audio") == true, "\(failed.error ?? "")")
            #expect(try await harness.jobs.store.job(corrupt.id)?.tasks["prepare"]?.attempt == 1, "a permanent error is not retried")
            #expect(await eventually(timeout: .seconds(10)) { harness.files(ofJob: corrupt.id).isEmpty }, "a failed job's upload is removed")
            #expect(try await harness.waitForFinalState(good.id).status == .completed)
        }
    }

    @Test func aStageWhoseEngineIsNotRunningFailsTheJobNamingTheEngine() async throws {
        // No transcribe engine in this deployment, and operators chose to fail at once.
        let harness = try PipelineHarness(
            engines: [FlakyEngine(engineID: "audio-prepare", failures: 0, permanent: false), FlakyEngine(engineID: "merge", failures: 0, permanent: false)],
            engineWait: .zero)
        try await withTeardown({ await harness.stop() }) {
            let job = try await harness.jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_noengine"))
            let failed = try await harness.waitForFinalState(job.id, timeout: .seconds(30))
            #expect(failed.status == .failed)
            #expect(failed.currentStage == "transcribe")
            #expect(failed.error?.contains("no transcribe engine is running") == true && failed.error?.contains("dalston engine transcribe") == true,
                    "\(failed.error ?? "")")
            #expect(try await harness.jobs.store.job(job.id)?.tasks["prepare"]?.status == .completed, "the stages that could run did")
            // Logged just after the job's end is announced.
            #expect(await eventually(timeout: .seconds(10)) {
                harness.logs.lines.contains { $0.contains("\"job_failed\"") && $0.contains("engine_unavailable") && $0.contains("req_noengine") }
            }, "\(harness.logs.lines.filter { $0.contains("job_failed") })")
        }
    }

    @Test func transientFailuresAreRetriedWithBackoff() async throws {
        let harness = try PipelineHarness(engines: [
            FlakyEngine(engineID: "audio-prepare", failures: 0, permanent: false),
            FlakyEngine(engineID: "transcribe", failures: 2, permanent: false),
            FlakyEngine(engineID: "merge", failures: 0, permanent: false),
        ])
        try await withTeardown({ await harness.stop() }) {
            let job = try await harness.jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_retry"))
            let done = try await harness.waitForFinalState(job.id)
            #expect(done.status == .completed)
            #expect(try await harness.jobs.store.job(job.id)?.tasks["transcribe"]?.attempt == 3)
            let retries = harness.logs.lines.filter { $0.contains("task_retry_scheduled") && $0.contains(job.id) }
            #expect(retries.count == 2)
        }
    }

    @Test func exhaustedRetriesFailTheJobWithTheEnginesError() async throws {
        let harness = try PipelineHarness(engines: [
            FlakyEngine(engineID: "audio-prepare", failures: 10, permanent: false),
        ], maximumAttempts: 2)
        try await withTeardown({ await harness.stop() }) {
            let job = try await harness.jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_fail"))
            let done = try await harness.waitForFinalState(job.id)
            #expect(done.status == .failed)
            #expect(done.error?.contains("timedOut") == true || done.error?.contains("-1001") == true, "\(done.error ?? "")")
            #expect(try await harness.jobs.store.job(job.id)?.tasks["prepare"]?.attempt == 2)
        }
    }

    @Test func cancellingAJobStopsTheTaskInHandAndSchedulesNothingMore() async throws {
        // A transcribe step that would take half a minute: the cancel must stop it.
        let harness = try PipelineHarness(engines: [
            FlakyEngine(engineID: "audio-prepare", failures: 0, permanent: false), SlowEngine(engineID: "transcribe", duration: .seconds(30)),
            FlakyEngine(engineID: "merge", failures: 0, permanent: false),
        ])
        try await withTeardown({ await harness.stop() }) {
            let job = try await harness.jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_cancel"))
            #expect(await eventually { harness.logs.lines.contains { $0.contains("\"task_started\"") && $0.contains("\(job.id)_transcribe") } })
            let cancelled = ContinuousClock.now
            _ = try await harness.jobs.requestCancel(job.id, requestID: "req_cancel2")
            let done = try await harness.waitForFinalState(job.id)
            #expect(done.status == .cancelled)
            #expect(await eventually { harness.logs.lines.contains { $0.contains("task_stopped_job_cancelled") && $0.contains(job.id) } })
            #expect(ContinuousClock.now - cancelled < .seconds(15), "the 30 s step was stopped, not waited for")
            #expect(try await harness.broker.queueStats(engine: "transcribe").inFlight == 0)
            #expect(try await harness.jobs.store.job(job.id)?.tasks["merge"] == nil, "nothing was scheduled after the cancel")
        }
    }

    @Test func aCancelAcceptedWhileNoOrchestratorRunsIsCarriedOutLater() async throws {
        let broker = InMemoryBroker()
        try await withTeardown({ await broker.shutdown() }) {
            let deployment = Deployment(broker: broker, artifacts: FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-cancel-\(UUID().uuidString)")))
            let jobs = deployment.jobService()
            let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_cancel_later"))
            // Nobody hears the request: no orchestrator is running.
            #expect(try await jobs.requestCancel(job.id, requestID: "req_cancel_later")?.status == .pending)
            let orchestrator = Task { await deployment.orchestrator().run() }
            try await withTeardown({ orchestrator.cancel(); await orchestrator.value }) { () async throws in
                #expect(try await jobs.waitForFinalState(job.id, timeout: .seconds(30))?.status == .cancelled, "the start-up sweep carried the cancel out")
                #expect(try await broker.queueStats(engine: "audio-prepare").waiting == 0, "no task of the cancelled job was enqueued")
            }
        }
    }
}

@Suite("Artifacts")
struct ArtifactStoreTests {
    @Test func overwritingAnArtifactReplacesItAndLeavesNoTemporaryFiles() async throws {
        let store = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-artifacts-\(UUID().uuidString)"))
        let reference = ArtifactReference(jobID: "job_a", name: "prepared.wav")
        try await store.write(Array("first".utf8), to: reference)
        try await store.write(Array("second".utf8), to: reference)  // a redelivered task writes again
        #expect(try await store.read(reference) == Array("second".utf8))
        let files = try FileManager.default.contentsOfDirectory(atPath: store.fileURL(reference).deletingLastPathComponent().path)
        #expect(files == ["prepared.wav"], "no temporary files left: \(files)")
        #expect(ArtifactReference(key: reference.key) == reference)
        #expect(ArtifactReference(key: "/etc/passwd") == nil)
    }

    /// A writer dropped without commit (the upload failed) leaves nothing; temporary files of a
    /// process that died are swept once old, fresh ones (an upload in progress) stay.
    @Test func abandonedWritesAreDiscardedAndOldLeftoversSwept() async throws {
        let store = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-artifacts-\(UUID().uuidString)"))
        do {
            let writer = try await store.makeWriter(for: ArtifactReference(jobID: "job_dropped", name: "audio.wav"))
            try await writer.append(Array("partial".utf8))
        }
        #expect(try await store.removeAbandonedWrites(olderThan: .zero) == 0, "the dropped writer removed its own file")
        let crashed = store.fileURL(ArtifactReference(jobID: "job_crashed", name: ".audio.wav.dead.tmp"))
        let inProgress = store.fileURL(ArtifactReference(jobID: "job_live", name: ".audio.wav.live.tmp"))
        let kept = ArtifactReference(jobID: "job_crashed", name: "result.json")
        try await store.write([1], to: kept)
        for file in [crashed, inProgress] {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: file.path, contents: Data([1, 2, 3]))
        }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: crashed.path)
        #expect(try await store.removeAbandonedWrites(olderThan: .seconds(3600)) == 1)
        #expect(!FileManager.default.fileExists(atPath: crashed.path))
        #expect(FileManager.default.fileExists(atPath: inProgress.path))
        #expect(try await store.read(kept) == [1])
        #expect(!FileManager.default.fileExists(atPath: store.fileURL(ArtifactReference(jobID: "job_dropped", name: "x")).deletingLastPathComponent().path))
    }

    @Test func aMissingOrUnwritableArtifactSaysWhichWithoutServerPaths() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-artifacts-\(UUID().uuidString)")
        let store = FileArtifactStore(root: root)
        let missing = ArtifactReference(jobID: "job_b", name: "result.json")
        await #expect(throws: ArtifactError.notFound(missing)) { try await store.read(missing) }
        // A file where the job's directory should be: the write fails, and says so by name.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("jobs"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: root.appendingPathComponent("jobs/job_c").path, contents: Data())
        do {
            try await store.write([1], to: ArtifactReference(jobID: "job_c", name: "audio.wav"))
            Issue.record("the write should have failed")
        } catch {
            #expect(error.description.hasPrefix("artifact jobs/job_c/audio.wav cannot be stored"))
            #expect(!error.description.contains(root.path), "\(error.description)")
        }
    }
}
