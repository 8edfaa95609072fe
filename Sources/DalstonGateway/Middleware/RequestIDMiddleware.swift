import DalstonPipeline
import DalstonBroker
import DalstonCore
import DalstonLogging
import DalstonMetrics
import Foundation
import HTTPTypes
import DalstonRecords
package import Hummingbird
package import Logging

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let elevenLabsAPIKey = HTTPField.Name("xi-api-key")!
}

/// Correlation ids, the ADR's central rule: take the client's `X-Request-ID` when it is a sane
/// token (at most 128 of `[A-Za-z0-9._:-]`), otherwise make one (`req_` + UUID hex); echo it on
/// the response; bind it for every log line written while the request is handled (in any logger,
/// and in the job metadata the handlers create).
package struct RequestIDMiddleware: RouterMiddleware {
    package typealias Context = GatewayRequestContext
    let logger: Logger

    package init(logger: Logger = Logger(label: "dalston.gateway.http")) {
        self.logger = logger
    }

    package static func accept(_ candidate: String?) -> String? {
        guard let candidate, (1...128).contains(candidate.utf8.count) else { return nil }
        let allowed = candidate.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
        }
        return allowed ? candidate : nil
    }

    package static func generate() -> String {
        "req_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let supplied = request.headers[.requestID]
        let requestID = Self.accept(supplied) ?? Self.generate()
        var context = context
        context.requestID = requestID
        return try await withLogContext(["request_id": "\(requestID)"]) {
            if let supplied, supplied != requestID {
                logger.warning("request_id_rejected", metadata: ["reason": "not a token of at most 128 [A-Za-z0-9._:-] characters", "length": .stringConvertible(supplied.utf8.count)])
            }
            var response = try await next(request, context)
            response.headers[.requestID] = requestID
            return response
        }
    }
}
