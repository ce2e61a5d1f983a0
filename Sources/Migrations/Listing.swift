/// How every message lists things: the one formatter for ids, files and commits in errors, findings and reports.
public enum Listing {
    /// `a, b, c`, cut after `limit` items with `, and N more` (or `, …` when `counted` is false).
    public static func items(_ items: [String], limit: Int = 10, counted: Bool = true) -> String {
        let shown = items.prefix(limit).joined(separator: ", ")
        guard items.count > limit else { return shown }
        return counted ? "\(shown), and \(items.count - limit) more" : "\(shown), …"
    }

    /// `a`, `a and b`, `a, b and c`: a list read as a sentence.
    public static func phrase(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}
