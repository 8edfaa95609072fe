import NIOCore

/// Turns inbound bytes into `RESPValue`s, handing on every value complete in what has arrived as
/// one array (one pipeline event per read, not per reply). A protocol violation is thrown into
/// the pipeline, where the command handler fails every pending command and closes the connection.
struct RESPValueDecoder: ByteToMessageDecoder {
    typealias InboundOut = [RESPValue]
    let parser: RESPParser

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let first = try parser.parse(&buffer) else { return .needMoreData }
        var values = [first]
        while let next = try parser.parse(&buffer) {
            values.append(next)
        }
        context.fireChannelRead(wrapInboundOut(values))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
