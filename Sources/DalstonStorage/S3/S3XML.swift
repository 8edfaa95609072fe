import DalstonCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The little of S3's XML answers Dalston reads: for each element named `record` (`Contents`,
/// `Upload`, `Error`...), the text of its direct children. Anything else is ignored.
enum S3XML {
    static func records(named record: String, in body: [UInt8]) -> [[String: String]] {
        let reader = RecordReader(record: record)
        let parser = XMLParser(data: Data(body))
        parser.delegate = reader
        parser.shouldResolveExternalEntities = false
        _ = parser.parse()
        return reader.records
    }

    /// The text of the first element `name` anywhere (`UploadId`, `IsTruncated`).
    static func value(of name: String, in body: [UInt8]) -> String? {
        let reader = RecordReader(record: nil, wanted: name)
        let parser = XMLParser(data: Data(body))
        parser.delegate = reader
        parser.shouldResolveExternalEntities = false
        _ = parser.parse()
        return reader.wantedValue
    }

    /// S3's `<Error><Code>…</Code><Message>…</Message></Error>`.
    static func error(in body: [UInt8]) -> (code: String, message: String)? {
        guard let fields = records(named: "Error", in: body).first else { return nil }
        return (fields["Code"] ?? "", fields["Message"] ?? "")
    }


    private final class RecordReader: NSObject, XMLParserDelegate {
        let record: String?
        let wanted: String?
        var records: [[String: String]] = []
        var wantedValue: String?
        private var current: [String: String]?
        private var path: [String] = []
        private var text = ""

        init(record: String?, wanted: String? = nil) {
            self.record = record
            self.wanted = wanted
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            path.append(name)
            text = ""
            if name == record { current = [:] }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text += string
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            path.removeLast()
            if name == record, let finished = current {
                records.append(finished)
                current = nil
            } else if current != nil, path.last == record {
                current?[name] = text
            }
            if name == wanted, wantedValue == nil { wantedValue = text }
            text = ""
        }
    }
}
