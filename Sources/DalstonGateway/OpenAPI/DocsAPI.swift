import DalstonCore
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /openapi.json` and `GET /docs`: the API's description, open to anyone who can reach the
/// port (it says what the routes are, not what they hold). The page is rendered here, escaped,
/// with no script at all and a Content-Security-Policy that forbids any.
struct DocsAPI: Sendable {
    let guards: RouteGuards
    let document: [UInt8] = OpenAPIDocument.json()
    let page: String = APIDocsPage.render(APICatalogue.operations)

    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .open)
        routes.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        routes.get("docs") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8",
                    .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                ],
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        return routes
    }
}

/// `/docs`: every operation grouped by API, with its access, parameters and answers.
enum APIDocsPage {
    static func render(_ operations: [APIOperation]) -> String {
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dalston API</title>
            <style>body{font:15px/1.45 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
            code{background:#f3f3f3;padding:0 .25rem;border-radius:3px}.op{border-top:1px solid #ddd;padding:.6rem 0}
            .m{display:inline-block;min-width:4.5rem;font-weight:700}.a{color:#666;font-size:90%}td{padding:0 .6rem 0 0;vertical-align:top}</style>
            </head><body><h1>Dalston API</h1><p>The same description as <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).
            Send a key as <code>Authorization: Bearer &lt;key&gt;</code> (or ElevenLabs' <code>xi-api-key</code>).</p>
            """
        var tags: [String] = []
        for operation in operations where !tags.contains(operation.tag) { tags.append(operation.tag) }
        for tag in tags {
            html += "<h2>\(escape(tag))</h2>"
            for operation in operations where operation.tag == tag {
                html += "<div class=\"op\"><span class=\"m\">\(escape(operation.method.rawValue))</span><code>\(escape(operation.path))</code> — \(escape(operation.summary))"
                html += " <span class=\"a\">(access: \(escape(operation.access.text)))</span>"
                var fields = operation.query
                if case .json(let list)? = operation.body { fields += list }
                if case .multipart(let list)? = operation.body { fields += list }
                if !fields.isEmpty {
                    html += "<table>"
                    for field in fields {
                        html += "<tr><td><code>\(escape(field.name))</code>\(field.required ? " *" : "")</td><td>\(escape(field.type))</td><td>\(escape(field.description))</td></tr>"
                    }
                    html += "</table>"
                }
                html += "<div class=\"a\">" + operation.responses.map { "\($0.0) \(escape($0.1))" }.joined(separator: " · ") + "</div></div>"
            }
        }
        return html + "</body></html>"
    }

    static func escape(_ text: String) -> String { markupEscaped(text) }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
}
