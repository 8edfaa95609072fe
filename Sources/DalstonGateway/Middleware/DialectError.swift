/// An error raised while answering in another API's dialect: the middleware renders it in that
/// shape whatever its kind (a broker that is down, a bad field).
struct DialectError: Error {
    let underlying: any Error
    let dialect: ErrorDialect

    init(_ underlying: any Error, _ dialect: ErrorDialect) {
        if let nested = underlying as? DialectError {
            self.underlying = nested.underlying
        } else {
            self.underlying = underlying
        }
        self.dialect = dialect
    }
}
