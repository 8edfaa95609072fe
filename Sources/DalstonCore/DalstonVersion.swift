/// Dalston's version, as `dalston --version`, `GET /v1/engines` and the runners package report it.
package enum DalstonVersion {
    package static let current = "0.3.0"
}
