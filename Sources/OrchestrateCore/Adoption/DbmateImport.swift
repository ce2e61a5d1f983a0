import Foundation

/// `orchestrate import dbmate`: `<version>_<name>.sql` files with `-- migrate:up` and `-- migrate:down` sections, in
/// version order; `-- migrate:up transaction:false` (or on the down marker) becomes `-- transaction: false`.
public enum DbmateImport {
    /// The plan for the files of a dbmate migrations folder.
    public static func plan(_ files: [ForeignFile]) -> ImportPlan {
        var entries: [LinearImport.Entry] = []
        var skipped: [ImportReport.Skipped] = []
        for file in files.sorted(by: { $0.path < $1.path }) {
            guard file.name.hasSuffix(".sql") else {
                skipped.append(
                    .init(source: file.path, reason: "not a dbmate migration (expected <version>_<name>.sql)"))
                continue
            }
            let stem = String(file.name.dropLast(4))
            let version = LinearImport.version(ofStem: stem, tool: .dbmate)?.first ?? ""
            guard !version.isEmpty else {
                skipped.append(
                    .init(
                        source: file.path,
                        reason: "not a dbmate migration name: it does not start with a version number"))
                continue
            }
            let description = stem.dropFirst(version.count).drop(while: { $0 == "_" })
            guard var entry = sections(file, stem: stem, version: String(version), description: String(description))
            else {
                skipped.append(
                    .init(source: file.path, reason: "no `-- migrate:up` line (dbmate refuses such a file too)"))
                continue
            }
            entry.placeholders = []
            entries.append(entry)
        }
        return LinearImport.plan(.dbmate, entries, skipped: skipped)
    }

    /// The file's up and down sections and transaction options; nil without an up marker.
    static func sections(_ file: ForeignFile, stem: String, version: String, description: String) -> LinearImport.Entry?
    {
        var up: [Substring]? = nil
        var down: [Substring]? = nil
        var noTransaction: [String] = []
        for line in file.text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") {
                let body = trimmed.dropFirst(2).trimmingCharacters(in: .whitespaces)
                for (marker, isUp) in [("migrate:up", true), ("migrate:down", false)] where body.hasPrefix(marker) {
                    let options = body.dropFirst(marker.count)
                    guard options.isEmpty || options.first == " " || options.first == "\t" else { continue }
                    if options.replacingOccurrences(of: " ", with: "").contains("transaction:false") {
                        noTransaction.append(isUp ? "up" : "down")
                    }
                    if isUp { up = [] } else { down = [] }
                }
                if body.hasPrefix("migrate:up") || body.hasPrefix("migrate:down") { continue }
            }
            if down != nil { down?.append(line) } else if up != nil { up?.append(line) }
        }
        guard let up else { return nil }
        var entry = LinearImport.Entry(
            stem: stem, version: version, description: description, source: file.path, upLines: up, downLines: down)
        if !noTransaction.isEmpty {
            entry.transactional = false
            entry.conversions.append(
                "`transaction:false` on the \(noTransaction.joined(separator: " and ")) marker: written with `-- transaction: false`"
                    + (noTransaction == ["down"] ? " (orchestrate has one mode for both sections)" : ""))
        }
        return entry
    }
}
