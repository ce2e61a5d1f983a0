import Foundation

/// `orchestrate import golang-migrate`: `<version>_<title>.up.sql` and `.down.sql` pairs in version order; the id is
/// `<version>_<title>`.
public enum GolangMigrateImport {
    /// The plan for the files of a golang-migrate source folder.
    public static func plan(_ files: [ForeignFile]) -> ImportPlan {
        var ups: [String: (version: String, title: String, file: ForeignFile)] = [:]
        var downs: [String: ForeignFile] = [:]
        var skipped: [ImportReport.Skipped] = []
        for file in files.sorted(by: { $0.path < $1.path }) {
            let parts = file.name.split(separator: ".")
            let version = LinearImport.version(ofStem: file.name, tool: .golangMigrate)?.first ?? ""
            guard parts.count >= 3, parts.last == "sql", ["up", "down"].contains(parts[parts.count - 2]),
                !version.isEmpty
            else {
                skipped.append(
                    .init(
                        source: file.path,
                        reason: "not a golang-migrate SQL migration (expected <version>_<title>.up.sql or .down.sql)"))
                continue
            }
            let stem = parts.dropLast(2).joined(separator: ".")
            if parts[parts.count - 2] == "up" {
                ups[stem] = (String(version), String(stem.dropFirst(version.count).drop(while: { $0 == "_" })), file)
            } else {
                downs[stem] = file
            }
        }
        var entries: [LinearImport.Entry] = []
        for (stem, up) in ups {
            let down = downs.removeValue(forKey: stem)
            entries.append(
                LinearImport.Entry(
                    stem: stem, version: [up.version], description: up.title, source: up.file.path,
                    up: up.file.text, down: down?.text))
        }
        for (_, orphan) in downs.sorted(by: { $0.key < $1.key }) {
            skipped.append(.init(source: orphan.path, reason: "a down script with no up script of its version"))
        }
        return LinearImport.plan(.golangMigrate, entries, skipped: skipped)
    }
}
