import Foundation

/// `orchestrate import flyway`: `V<version>__<description>.sql` in version order, `U<version>__` files as down
/// sections.
///
/// Versions compare part by part as numbers (`.` and `_` both separate parts, so `1.10` comes after `1.9` and
/// `1_1` is `1.1`). A script PostgreSQL cannot run in a transaction gets `-- transaction: false`, as Flyway decides by
/// itself, and so does one whose `.sql.conf` says `executeInTransaction=false`. Scripts with placeholders (`${...}`)
/// are written to be filled in; repeatable (`R__`), baseline (`B`) and Java migrations are listed as not imported.
public enum FlywayImport {
    /// The plan for the files of a Flyway location (paths relative to it).
    public static func plan(_ files: [ForeignFile]) -> ImportPlan {
        var versioned: [LinearImport.Entry] = []
        var undo: [String: (source: String, text: String)] = [:]
        var skipped: [ImportReport.Skipped] = []
        let configs = Dictionary(
            files.filter { $0.name.hasSuffix(".sql.conf") }.map { ($0.name, $0.text) },
            uniquingKeysWith: { first, _ in first })
        for file in files.sorted(by: { $0.path < $1.path }) {
            let name = file.name
            if name.hasSuffix(".sql.conf") { continue }
            let stem = (name as NSString).deletingPathExtension
            let ext = (name as NSString).pathExtension
            if ["java", "class", "kt", "scala", "groovy"].contains(ext) {
                skipped.append(
                    .init(
                        source: file.path,
                        reason:
                            "a Java-based migration: orchestrate runs SQL only; write its effect as SQL in a new revision (or record it with baseline)"
                    ))
                continue
            }
            guard ext == "sql" else {
                skipped.append(
                    .init(
                        source: file.path, reason: "not a Flyway SQL migration (expected V<version>__<description>.sql)"
                    ))
                continue
            }
            if stem.hasPrefix("R__") {
                skipped.append(
                    .init(
                        source: file.path,
                        reason:
                            "a repeatable migration (Flyway reapplies it whenever it changes); orchestrate has no repeatables: put its current text in a new revision when it changes"
                    ))
                continue
            }
            guard let prefix = stem.first, "VUB".contains(prefix), let separator = stem.range(of: "__") else {
                skipped.append(
                    .init(
                        source: file.path,
                        reason: "not a Flyway migration name (expected V<version>__<description>.sql)"))
                continue
            }
            let versionText = stem[stem.index(after: stem.startIndex)..<separator.lowerBound]
            guard let version = LinearImport.version(ofStem: stem, tool: .flyway) else {
                skipped.append(
                    .init(source: file.path, reason: "version `\(versionText)` is not numbers separated by `.` or `_`"))
                continue
            }
            switch prefix {
            case "B":
                skipped.append(
                    .init(
                        source: file.path,
                        reason:
                            "a baseline migration (Flyway Teams): the V scripts it stands for are imported instead; record what each database runs with baseline"
                    ))
            case "U":
                undo[LinearImport.normalized(version).joined(separator: ".")] = (file.path, file.text)
            default:
                var entry = LinearImport.Entry(
                    stem: stem, version: version,
                    description: String(stem[separator.upperBound...]), source: file.path,
                    up: file.text)
                if let config = configs[name + ".conf"],
                    config.split(whereSeparator: \.isNewline).contains(where: {
                        $0.replacingOccurrences(of: " ", with: "").lowercased() == "executeintransaction=false"
                    })
                {
                    entry.transactional = false
                    entry.conversions.append(
                        "\(name).conf says executeInTransaction=false: written with `-- transaction: false`")
                }
                entry.placeholders = ForeignSQL.placeholders(in: file.text)
                versioned.append(entry)
            }
        }
        for index in versioned.indices {
            let key = LinearImport.normalized(versioned[index].version).joined(separator: ".")
            if let down = undo.removeValue(forKey: key) {
                versioned[index].down = down.text
                versioned[index].conversions.append("\(down.source) became its down section")
                versioned[index].placeholders += ForeignSQL.placeholders(in: down.text).filter {
                    !versioned[index].placeholders.contains($0)
                }
            }
        }
        for (_, orphan) in undo.sorted(by: { $0.value.source < $1.value.source }) {
            skipped.append(.init(source: orphan.source, reason: "an undo script with no V script of its version"))
        }
        return LinearImport.plan(.flyway, versioned, skipped: skipped)
    }
}
