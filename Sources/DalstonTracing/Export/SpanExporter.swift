import AsyncHTTPClient
import CZlib
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where batches of finished spans go.
protocol SpanExporter: Sendable {
    func export(_ spans: [FinishedSpan], timeout: Duration) async throws
    func shutdown() async
}

/// An export the collector did not take.
struct SpanExportError: Error, CustomStringConvertible {
    let description: String
}

/// OTLP over HTTP: protobuf (the default) or JSON, optionally gzip-compressed, with the
/// configured headers. Answers 429, 502, 503 and 504 (and connection failures) are retried with
/// back-off within the export timeout; other refusals are not.
final class OTLPHTTPSpanExporter: SpanExporter {
    let endpoint: String
    let encoding: OTLPEncoding
    let usesJSON: Bool
    let compresses: Bool
    let headers: [(String, String)]
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`: one request's limit.
    let requestTimeout: Duration
    private let client: HTTPClient

    init(
        endpoint: String, encoding: OTLPEncoding, usesJSON: Bool, compresses: Bool, headers: [(String, String)], requestTimeout: Duration,
        certificateFile: String?
    ) {
        self.endpoint = endpoint
        self.requestTimeout = requestTimeout
        self.encoding = encoding
        self.usesJSON = usesJSON
        self.compresses = compresses
        self.headers = headers
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        // The exporter's own requests are never traced: each would be a span exported by the
        // next request, a trace of the tracer that never ends.
        configuration.tracing.tracer = nil
        if let certificateFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(certificateFile)
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func export(_ spans: [FinishedSpan], timeout: Duration) async throws {
        var body = usesJSON ? encoding.json(spans) : encoding.protobuf(spans)
        if compresses { body = try Gzip.compress(body) }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: usesJSON ? "application/json" : "application/x-protobuf")
        if compresses { request.headers.add(name: "Content-Encoding", value: "gzip") }
        request.headers.add(name: "User-Agent", value: "dalston-otlp/1")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))

        let deadline = ContinuousClock.now + timeout
        var delay: Duration = .milliseconds(250)
        while true {
            let remaining = min(deadline - .now, requestTimeout)
            guard remaining > .zero else { throw SpanExportError(description: "the export timed out") }
            let retryable: SpanExportError
            do {
                let (seconds, attoseconds) = remaining.components
                let response = try await client.execute(request, timeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
                let answer = try? await response.body.collect(upTo: 16 * 1024)
                if (200..<300).contains(response.status.code) { return }
                let text = answer.map { String(buffer: $0).prefix(200) } ?? ""
                let error = SpanExportError(description: "the collector answered \(response.status.code) \(response.status.reasonPhrase) \(text)")
                guard [429, 502, 503, 504].contains(response.status.code) else { throw error }
                retryable = error
            } catch let error as SpanExportError {
                throw error
            } catch {
                retryable = SpanExportError(description: "\(endpoint): \(error)")
            }
            guard ContinuousClock.now + delay < deadline else { throw retryable }
            try await Task.sleep(for: delay)
            delay *= 2
        }
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}

/// `OTEL_TRACES_EXPORTER=console`: each batch as one OTLP/JSON line on standard error (standard
/// output carries the logs).
struct ConsoleSpanExporter: SpanExporter {
    let encoding: OTLPEncoding

    func export(_ spans: [FinishedSpan], timeout: Duration) async throws {
        var line = encoding.json(spans)
        line.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(Data(line))
    }

    func shutdown() async {}
}

/// `OTEL_TRACES_EXPORTER=none`: spans are made (ids in logs, context across processes) and
/// discarded.
struct DiscardingSpanExporter: SpanExporter {
    func export(_ spans: [FinishedSpan], timeout: Duration) async throws {}
    func shutdown() async {}
}

/// gzip (RFC 1952) with zlib.
enum Gzip {
    static func compress(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SpanExportError(description: "zlib could not start compressing")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var input = input
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = destination.baseAddress
                stream.avail_out = UInt32(destination.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw SpanExportError(description: "zlib could not compress the batch (\(status))") }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }
}
