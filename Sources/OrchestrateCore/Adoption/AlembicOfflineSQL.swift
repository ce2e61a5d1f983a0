import Foundation
import Migrations

/// Reads what `alembic upgrade A:B --sql` and `alembic downgrade B:A --sql` print: one segment per revision, each
/// after Alembic's `-- Running upgrade P -> R` (or `-- Running downgrade R -> P`) line, with Alembic's own
/// bookkeeping in between (its version table, `BEGIN;`/`COMMIT;`), which orchestrate does itself.
public enum AlembicOfflineSQL {
    /// Which way the script runs.
    public enum Direction: String, Sendable {
        case upgrade, downgrade
    }

    /// One revision's SQL, bookkeeping removed; `autocommit` when part of it ran in an `autocommit_block()` (Alembic
    /// prints `COMMIT;` before the block's statements and `BEGIN;` after them).
    public struct Section: Sendable, Equatable {
        /// The SQL, without Alembic's version table statements and transaction control.
        public var sql: String
        /// Whether the revision used `op.get_context().autocommit_block()`.
        public var autocommit: Bool
    }

    /// The sections of `output` by revision id.
    public static func sections(_ output: String, direction: Direction) -> [String: Section] {
        var raw: [(revision: String, lines: [Substring])] = []
        var preamble: [Substring] = []
        let marker = "-- Running \(direction.rawValue) "
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(marker), let arrow = line.range(of: " -> ") {
                let revision =
                    direction == .upgrade
                    ? line[arrow.upperBound...].trimmingCharacters(in: .whitespaces)
                    : line[line.index(line.startIndex, offsetBy: marker.count)..<arrow.lowerBound].trimmingCharacters(
                        in: .whitespaces)
                raw.append((revision, []))
            } else if raw.isEmpty {
                preamble.append(line)
            } else {
                raw[raw.count - 1].lines.append(line)
            }
        }
        let tables = versionTables(in: preamble.joined(separator: "\n"))
        var sections: [String: Section] = [:]
        for (revision, lines) in raw {
            sections[revision] = section(lines.joined(separator: "\n"), versionTables: tables)
        }
        return sections
    }

    /// The version tables created in `sql` (`CREATE TABLE x (version_num ...)`), upper-cased, and `ALEMBIC_VERSION`.
    static func versionTables(in sql: String) -> Set<String> {
        var tables: Set<String> = ["ALEMBIC_VERSION"]
        for statement in SQLSplitter.split(sql) {
            let words = ForeignSQL.leadingWords(statement.text, count: 6)
            guard words.starts(with: ["CREATE", "TABLE"]), let column = words.firstIndex(of: "VERSION_NUM"), column > 2
            else { continue }
            tables.insert(words[column - 1])
        }
        return tables
    }

    /// One segment without bookkeeping.
    static func section(_ text: String, versionTables: Set<String>) -> Section {
        let statements = SQLSplitter.split(text)
        var removed: [SQLStatement] = []
        var autocommit = false
        var committedAt: Int? = nil
        var workSinceCommit = false
        for statement in statements {
            let words = ForeignSQL.leadingWords(statement.text, count: 5)
            let first = words.first ?? ""
            if ["CREATE", "INSERT", "UPDATE", "DELETE", "DROP"].contains(first),
                words.dropFirst().prefix(3).contains(where: versionTables.contains)
            {
                removed.append(statement)
            } else if words == ["COMMIT"] {
                removed.append(statement)
                committedAt = statement.offset
                workSinceCommit = false
            } else if words == ["BEGIN"] {
                removed.append(statement)
                if committedAt != nil, workSinceCommit { autocommit = true }
                committedAt = nil
            } else if committedAt != nil {
                workSinceCommit = true
            }
        }
        return Section(sql: ForeignSQL.removing(removed, from: text), autocommit: autocommit)
    }
}
