/// Text made safe inside HTML or XML elements and attribute values: `&`, `<`, `>`, both quotes.
/// (`&#39;` rather than `&apos;`, which old HTML does not know.)
package func markupEscaped(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&#39;"
        default: escaped.append(character)
        }
    }
    return escaped
}
