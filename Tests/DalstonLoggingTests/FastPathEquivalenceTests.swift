@testable import DalstonLogging
import Foundation
import Instrumentation
import Logging
import Testing

/// The JSON fast path must write exactly what the general path (records through the processor
/// chain) writes. A pipeline with one do-nothing processor of its own always takes the general
/// path; the default pipeline takes the fast one whenever it can. Random lines from both are
/// compared byte for byte, timestamps aside.
@Suite("Logging: the JSON fast path writes what the general path writes")
struct FastPathEquivalenceTests {
    struct TestError: Error, CustomStringConvertible {
        let description: String
    }

    /// A small deterministic generator, so a failure can be replayed from its seed.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
    }

    static let keys = [
        "request_id", "job_id", "task_id", "engine_id", "session_id", "worker_id", "trace_id", "span_id",
        "level", "event", "logger", "service", "timestamp", "file", "line", "source", "_level", "__event",
        "api_key", "Authorization", "db_password", "token_count", "error", "status", "attempt", "path", "ü_ключ", "a\"b",
    ]

    static func value(_ generator: inout Generator, depth: Int = 0) -> Logger.MetadataValue {
        switch generator.below(depth > 1 ? 7 : 9) {
        case 0: return .string(generator.pick(["ok", "", "line\nbreak", "quote\"back\\slash", "tab\tand\u{1}", "emoji 🎙️", "\u{1b}[31mred"]))
        case 1: return .string(String(repeating: "x", count: generator.pick([10, 200, 300])))
        case 2: return .stringConvertible(generator.below(1000) - 500)
        case 3: return .stringConvertible(generator.pick([0.5, .nan, .infinity, -2.25]))
        case 4: return .stringConvertible(generator.chance(50))
        case 5: return .error(TestError(description: "failed: \(generator.below(10))"))
        case 6: return .stringConvertible(TestError(description: "raw error"))
        case 7: return .array((0..<generator.below(3)).map { _ in value(&generator, depth: depth + 1) })
        default:
            var dictionary: Logger.Metadata = [:]
            for _ in 0..<generator.below(3) { dictionary[generator.pick(keys)] = value(&generator, depth: depth + 1) }
            return .dictionary(dictionary)
        }
    }

    static func metadata(_ generator: inout Generator, count: Int) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for _ in 0..<count { metadata[generator.pick(keys)] = value(&generator) }
        return metadata
    }

    /// `{"timestamp":"…",` removed.
    static func withoutTimestamp(_ line: String) -> String {
        guard let end = line.range(of: #"","level":"#) else { return line }
        return String(line[end.lowerBound...])
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func randomLinesAreIdentical(seed: UInt64) throws {
        var generator = Generator(state: seed)
        for round in 0..<300 {
            let provided: Logger.Metadata = switch generator.below(4) {
            case 0: [:]
            case 1: ["trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"]
            case 2: ["trace_id": "0af7651916cd43dd8448eb211c80319c"]
            default: Self.metadata(&generator, count: 1)
            }
            let provider = Logger.MetadataProvider { provided }
            let useProvider = generator.chance(70)
            // Ids from the tracer: none configured, configured but outside a span, inside one;
            // sometimes redacted or cut by a short limit, which the fast path must notice.
            let tracer = generator.below(3)
            let ids = LogTraceIDs(traceIDHigh: generator.next(), traceIDLow: generator.next(), spanID: generator.next())
            let redactedKeys = RedactionProcessor.defaultKeys + (generator.chance(15) ? ["span_id"] : [])
            let maxValueBytes = generator.chance(15) ? 20 : 256
            func pipeline(general: Bool) -> (LogPipeline, RecordingLineWriter) {
                let recorder = RecordingLineWriter()
                var configuration = LoggingConfiguration(
                    service: "svc", levels: LogLevelPolicy(defaultLevel: .trace), redactedKeys: redactedKeys, maxValueBytes: maxValueBytes,
                    writer: recorder)
                configuration.metadataProviders = useProvider ? [provider] : []
                switch tracer {
                case 0: break
                case 1: configuration.traceIDs = { _ in nil }
                default: configuration.traceIDs = { _ in ids }
                }
                if general { configuration.processors = [ClosureProcessor { _ in .keep }] }
                return (LogPipeline(configuration: configuration), recorder)
            }
            let (fastPipeline, fastRecorder) = pipeline(general: false)
            let (generalPipeline, generalRecorder) = pipeline(general: true)
            #expect(fastPipeline.jsonFastPath != nil && generalPipeline.jsonFastPath == nil)

            let context = generator.chance(80) ? Self.metadata(&generator, count: generator.below(5)) : nil
            let call = Self.metadata(&generator, count: generator.below(4))
            let error: (any Error)? = generator.chance(20) ? TestError(description: "the call's error") : nil
            let level: Logger.Level = generator.pick([.trace, .debug, .info, .warning, .error])
            let message = generator.pick(["task_completed", "with \"quotes\"", String(repeating: "m", count: 300)])
            let label = generator.pick(["dalston.test", "dalston.\"odd\"", "x"])

            func log(_ pipeline: LogPipeline) {
                let logger = pipeline.makeLogger(label: label)
                if let context {
                    withLogContext(context) { logger.log(level: level, "\(message)", error: error, metadata: call) }
                } else {
                    logger.log(level: level, "\(message)", error: error, metadata: call)
                }
            }
            log(fastPipeline)
            log(generalPipeline)
            let fastLines = fastRecorder.lines.map(Self.withoutTimestamp)
            let generalLines = generalRecorder.lines.map(Self.withoutTimestamp)
            #expect(fastLines == generalLines, "seed \(seed), round \(round): context \(context ?? [:]), call \(call), provided \(provided), tracer \(tracer)")
            if fastLines != generalLines { return }
        }
    }

    @Test func theFastPathIsTakenForTheCommonLine() throws {
        // A line from a bound scope with two call fields renders its context from the cache:
        // the same scope's second line must reuse the first line's rendering.
        let recorder = RecordingLineWriter()
        let pipeline = LogPipeline(configuration: LoggingConfiguration(service: "svc", writer: recorder))
        let logger = pipeline.makeLogger(label: "dalston.test")
        withLogContext(["request_id": "req_1", "job_id": "job_1"]) {
            logger.info("first", metadata: ["engine": "transcribe"])
            let rendered = ServiceContext.current?[LogFieldsKey.self]?.renderedContext(for: ObjectIdentifier(pipeline))
            #expect(rendered != nil, "the first line rendered the context for this pipeline")
            logger.info("second", metadata: ["duration_ms": .stringConvertible(42)])
        }
        #expect(recorder.lines.count == 2)
        #expect(recorder.lines[1].hasSuffix(#","request_id":"req_1","job_id":"job_1","duration_ms":42}"#), "\(recorder.lines[1])")
    }

    /// Lines from a pipeline that takes the fast path and one that cannot, logged the same way.
    static func bothPaths(
        redactedKeys: [String] = RedactionProcessor.defaultKeys, _ body: (Logger) -> Void
    ) -> (fast: [String], general: [String]) {
        func lines(general: Bool) -> [String] {
            let recorder = RecordingLineWriter()
            var configuration = LoggingConfiguration(service: "svc", levels: LogLevelPolicy(defaultLevel: .trace), writer: recorder)
            configuration.redactedKeys = redactedKeys
            if general { configuration.processors = [ClosureProcessor { _ in .keep }] }
            body(LogPipeline(configuration: configuration).makeLogger(label: "dalston.test"))
            return recorder.lines.map(withoutTimestamp)
        }
        return (lines(general: false), lines(general: true))
    }

    @Test func keysTooLongToCacheOrSharingASlotAreWrittenAlike() {
        // 600 distinct keys in one line: more than the thread's 256 cached keys, so keys evict
        // each other's slots while the line is assembled; some too long to cache, some secret,
        // some non-ASCII (sorted without the cached prefix).
        var metadata: Logger.Metadata = [:]
        for index in 0..<600 {
            let key: String = switch index % 5 {
            case 0: "k\(index)"
            case 1: String(repeating: "long_", count: 14) + "\(index)"
            case 2: "x\(index)_token"
            case 3: "ü\(index)"
            default: "file\(index)"
            }
            metadata[key] = index % 2 == 0 ? .string("v\(index)") : .stringConvertible(index)
        }
        let (fast, general) = Self.bothPaths { logger in
            logger.info("many", metadata: metadata)
            logger.debug("many, with a location", metadata: metadata)
            logger.info("again, from the cache", metadata: metadata)
        }
        #expect(fast.count == 3)
        #expect(fast == general)
        #expect(fast[0].contains(#""x2_token":"[REDACTED]""#))
    }

    @Test func twoPipelinesOnOneThreadKeepTheirOwnRedaction() {
        // The per-thread key facts belong to one pipeline: a key secret in one is not in another.
        let (strict, _) = Self.bothPaths(redactedKeys: ["engine"]) { $0.info("e", metadata: ["engine": "transcribe"]) }
        let (lenient, _) = Self.bothPaths(redactedKeys: ["password"]) { $0.info("e", metadata: ["engine": "transcribe"]) }
        #expect(strict.first?.contains(#""engine":"[REDACTED]""#) == true, "\(strict)")
        #expect(lenient.first?.contains(#""engine":"transcribe""#) == true, "\(lenient)")
    }

    @Test func eachLineCarriesTheContextItIsWrittenIn() {
        // The thread keeps the last context's fields: switching scopes, nesting and leaving them
        // must never show a line the fields of another.
        let recorder = RecordingLineWriter()
        let logger = LogPipeline(configuration: LoggingConfiguration(service: "svc", writer: recorder)).makeLogger(label: "dalston.test")
        for round in 0..<3 {
            withLogContext(["request_id": "req_a\(round)"]) {
                logger.info("a")
                withLogContext(["job_id": "job_b\(round)"]) { logger.info("b") }
                logger.info("a again")
            }
            logger.info("none")
            withLogContext(["request_id": "req_c\(round)"]) { logger.info("c") }
        }
        let expected = (0..<3).flatMap { round in
            [#""request_id":"req_a\#(round)"}"#, #""request_id":"req_a\#(round)","job_id":"job_b\#(round)"}"#,
             #""request_id":"req_a\#(round)"}"#, #""event":"none"}"#, #""request_id":"req_c\#(round)"}"#]
        }
        #expect(recorder.lines.count == expected.count)
        for (line, ending) in zip(recorder.lines, expected) {
            #expect(line.hasSuffix(ending), "\(line) should end with \(ending)")
        }
    }

    @Test func aValueWhoseDescriptionLogsLeavesBothLinesWhole() {
        struct Chatty: CustomStringConvertible, Sendable {
            let logger: Logger
            var description: String {
                logger.info("inner", metadata: ["inner_key": "inner_value"])
                return "outer_value"
            }
        }
        let recorder = RecordingLineWriter()
        let logger = LogPipeline(configuration: LoggingConfiguration(service: "svc", writer: recorder)).makeLogger(label: "dalston.test")
        logger.info("outer", metadata: ["outer_key": .stringConvertible(Chatty(logger: logger)), "plain": "p"])
        #expect(recorder.lines.count == 2)
        #expect(recorder.lines.contains { $0.hasSuffix(#""event":"inner","inner_key":"inner_value"}"#) }, "\(recorder.lines)")
        #expect(recorder.lines.contains { $0.hasSuffix(#""event":"outer","outer_key":"outer_value","plain":"p"}"#) }, "\(recorder.lines)")
    }

    @Test func idsFromTheTracerAreWrittenWhereAProviderWouldPutThem() {
        let ids = LogTraceIDs(traceIDHigh: 0x0af7_6519_16cd_43dd, traceIDLow: 0x8448_eb21_1c80_319c, spanID: 0xb7ad_6b71_6920_3331)
        let recorder = RecordingLineWriter()
        var configuration = LoggingConfiguration(service: "svc", writer: recorder)
        configuration.traceIDs = { _ in ids }
        let pipeline = LogPipeline(configuration: configuration)
        withLogContext(["request_id": "req_1", "tenant": "t"]) {
            pipeline.makeLogger(label: "dalston.test").info("in_span", metadata: ["n": .stringConvertible(1)])
        }
        #expect(recorder.lines.first?.hasSuffix(
            #""event":"in_span","request_id":"req_1","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","tenant":"t","n":1}"#) == true,
            "\(recorder.lines)")
        // Other handlers get them as metadata through the pipeline's provider.
        let provided = withLogContext(["request_id": "req_1"]) { pipeline.metadataProvider.get() }
        #expect(provided["trace_id"] == "0af7651916cd43dd8448eb211c80319c" && provided["span_id"] == "b7ad6b7169203331")
    }
}
