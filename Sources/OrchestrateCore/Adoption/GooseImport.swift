import Foundation

/// `orchestrate import goose`: `<version>_<name>.sql` files with `-- +goose Up` / `-- +goose Down` sections in version
/// order. `-- +goose NO TRANSACTION` becomes `-- transaction: false`; `-- +goose StatementBegin` / `StatementEnd` are
/// dropped (orchestrate's splitter reads dollar quotes and function bodies itself); Go migrations are listed as not
/// imported.
public enum GooseImport {
    /// The plan for the files of a goose migrations folder.
    public static func plan(_ files: [ForeignFile]) -> ImportPlan {
        var entries: [LinearImport.Entry] = []
        var skipped: [ImportReport.Skipped] = []
        for file in files.sorted(by: { $0.path < $1.path }) {
            let name = file.name
            let version = LinearImport.version(ofStem: name, tool: .goose)?.first ?? ""
            if name.hasSuffix(".go"), !version.isEmpty {
                skipped.append(
                    .init(
                        source: file.path,
                        reason:
                            "a Go migration: orchestrate runs SQL only; write its effect as SQL in a new revision (or record it with baseline)"
                    ))
                continue
            }
            guard name.hasSuffix(".sql"), !version.isEmpty else {
                skipped.append(
                    .init(source: file.path, reason: "not a goose SQL migration (expected <version>_<name>.sql)"))
                continue
            }
            let stem = String(name.dropLast(4))
            let description = String(stem.dropFirst(version.count).drop(while: { $0 == "_" }))
            guard let entry = sections(file, stem: stem, version: String(version), description: description) else {
                skipped.append(
                    .init(source: file.path, reason: "no `-- +goose Up` annotation (goose refuses such a file too)"))
                continue
            }
            entries.append(entry)
        }
        return LinearImport.plan(.goose, entries, skipped: skipped)
    }

    /// The file's sections with goose's annotations read and removed; nil without `-- +goose Up`.
    static func sections(_ file: ForeignFile, stem: String, version: String, description: String) -> LinearImport.Entry?
    {
        var up: [Substring]? = nil
        var down: [Substring]? = nil
        var noTransaction = false
        var statementMarkers = false
        var envsub = false
        var placeholders: [String] = []
        for line in file.text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-- +goose") {
                let annotation = trimmed.dropFirst("-- +goose".count).trimmingCharacters(in: .whitespaces).uppercased()
                switch annotation {
                case "UP": up = up ?? []
                case "DOWN": down = down ?? []
                case "NO TRANSACTION": noTransaction = true
                case "STATEMENTBEGIN", "STATEMENTEND": statementMarkers = true
                case "ENVSUB ON": envsub = true
                case "ENVSUB OFF": envsub = false
                default: break
                }
                continue
            }
            if envsub {
                placeholders += ForeignSQL.placeholders(in: String(line)).filter { !placeholders.contains($0) }
            }
            if down != nil { down?.append(line) } else if up != nil { up?.append(line) }
        }
        guard let up else { return nil }
        var entry = LinearImport.Entry(
            stem: stem, version: version, description: description, source: file.path, upLines: up, downLines: down)
        entry.placeholders = placeholders
        if noTransaction {
            entry.transactional = false
            entry.conversions.append("`-- +goose NO TRANSACTION`: written with `-- transaction: false`")
        }
        if statementMarkers {
            entry.conversions.append(
                "`-- +goose StatementBegin`/`StatementEnd` removed (orchestrate splits statements itself)")
        }
        return entry
    }
}
