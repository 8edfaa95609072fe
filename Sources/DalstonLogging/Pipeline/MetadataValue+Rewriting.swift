import Logging

extension Logger.MetadataValue {
    /// Applies `rewrite` to each element of an array or dictionary value (one level; `rewrite`
    /// recurses if it wants to). Returns `nil` when nothing changed, so callers allocate only for
    /// the rare value that needs it. Each element is rewritten once.
    func rewritingElements(_ rewrite: (Logger.MetadataValue) -> Logger.MetadataValue?) -> Logger.MetadataValue? {
        var changed = false
        switch self {
        case .string, .stringConvertible:
            return nil
        case .array(let values):
            let result = values.map { element -> Logger.MetadataValue in
                guard let replacement = rewrite(element) else { return element }
                changed = true
                return replacement
            }
            return changed ? .array(result) : nil
        case .dictionary(let dictionary):
            let result = dictionary.mapValues { element -> Logger.MetadataValue in
                guard let replacement = rewrite(element) else { return element }
                changed = true
                return replacement
            }
            return changed ? .dictionary(result) : nil
        }
    }
}
