import Migrations
import Postgres

/// One kind of damage to an environment's ledger (rows deleted, duplicated or edited by hand), with what is wrong
/// and the truthful way out; decided by `LedgerHealth.damage`.
public struct LedgerDamage: Sendable, Hashable, Codable {
    /// What is damaged.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// `ledger_meta` has no version row, or is gone while the ledger's tables remain.
        case versionMissing = "version missing"
        /// A revision has several rows (the primary key was dropped).
        case duplicateRow = "duplicate row"
        /// A row names a parent that has no row.
        case missingParent = "missing parent"
        /// The recorded parents form a cycle.
        case parentCycle = "parent cycle"
    }
    public var kind: Kind
    /// The revisions involved.
    public var revisions: [String]
    /// What is wrong, in one sentence.
    public var problem: String
    /// What to do: the exact SQL where it is known, else where to restore from. `repair` fixes none of these.
    public var remedy: String
}

/// Whether an environment's ledger can be trusted: a pure function over its rows, used by `status`, `doctor`, `plan`
/// and every writing command (which refuses a damaged ledger before anything runs).
public enum LedgerHealth {
    /// What the ledger's version row looks like.
    public enum VersionRow: Sendable, Hashable {
        case present
        /// `ledger_meta` exists without a row.
        case missing
        /// `ledger_meta` is gone, the other tables remain.
        case tableMissing
    }

    /// Every damage found in `rows` (as read, duplicates included) of the ledger in `schema`; `fileParents` maps the
    /// revisions that have a migration file to the parents it names, for exact repair SQL.
    public static func damage(
        rows: [AppliedRevision], versionRow: VersionRow, schema: String,
        fileParents: [String: [String]] = [:]
    ) -> [LedgerDamage] {
        let quotedSchema = quoteIdentifier(schema)
        let table = RevisionsTable.table.qualified(quotedSchema)
        let meta = LedgerSchema.meta.qualified(quotedSchema)
        let restoreVersion = "INSERT INTO \(meta) (version) VALUES (1);"
        var found: [LedgerDamage] = []
        switch versionRow {
        case .present: break
        case .missing:
            found.append(
                LedgerDamage(
                    kind: .versionMissing, revisions: [],
                    problem: "the version row of \(meta) is missing, so the ledger's layout is unknown",
                    remedy:
                        "a DBA restores it with `\(restoreVersion)` (the next writing command brings the layout up to date; each step can run again)"
                ))
        case .tableMissing:
            found.append(
                LedgerDamage(
                    kind: .versionMissing, revisions: [],
                    problem: "the table \(meta) is missing, so the ledger's layout is unknown",
                    remedy:
                        "a DBA restores it with `\(LedgerSchema.meta.create(schema: quotedSchema, separator: " ")) \(restoreVersion)`"
                ))
        }

        // One pass to index the rows (this runs before every writing command: it must stay linear and cheap).
        var index: [String: Int] = [:]
        index.reserveCapacity(rows.count)
        var unique: [AppliedRevision] = []
        unique.reserveCapacity(rows.count)
        var duplicates: [String: Int] = [:]
        for row in rows {
            if index[row.revision] == nil {
                index[row.revision] = unique.count
                unique.append(row)
            } else {
                duplicates[row.revision, default: 1] += 1
            }
        }
        for (revision, count) in duplicates.sorted(by: { $0.key < $1.key }) {
            found.append(
                LedgerDamage(
                    kind: .duplicateRow, revisions: [revision],
                    problem: "revision \(revision) has \(count) rows in \(table) (its primary key was dropped)",
                    remedy:
                        "a DBA keeps the right one: `SELECT ctid, * FROM \(table) WHERE revision = \(quoteLiteral(revision));`, deletes the others by ctid (`DELETE FROM \(table) WHERE ctid = '(0,N)';`), then `ALTER TABLE \(table) ADD PRIMARY KEY (revision);`"
                ))
        }

        var parentIndices = [[Int]](repeating: [], count: unique.count)
        var missing: [(revision: String, parent: String)] = []
        for (position, row) in unique.enumerated() {
            for parent in row.parents {
                if let found = index[parent] {
                    parentIndices[position].append(found)
                } else {
                    missing.append((row.revision, parent))
                }
            }
        }
        let ids = Set(index.keys)
        for (revision, parent) in missing.sorted(by: { ($0.revision, $0.parent) < ($1.revision, $1.parent) }) {
            let row = unique[index[revision]!]
            let remedy: String
            if let parents = fileParents[revision], parents != row.parents, parents.allSatisfy(ids.contains) {
                remedy =
                    "its parents were edited in the ledger; its file names \(parents.isEmpty ? "none" : parents.joined(separator: ", ")): `\(setParents(table, revision, parents))`"
            } else {
                remedy =
                    "restore the row of \(parent) from a backup of schema \(quoteIdentifier(schema)) (`orchestrate audit` shows when it was applied, by whom, from which commit); `repair` cannot recreate a row"
            }
            found.append(
                LedgerDamage(
                    kind: .missingParent, revisions: [revision, parent],
                    problem: "revision \(revision) names parent \(parent), which has no row in \(table) (deleted?)",
                    remedy: remedy))
        }

        // A cycle: Kahn's algorithm over the indices places every row unless some are on a cycle; only then is the
        // graph built to name the cycle.
        var pendingParents = parentIndices.map(\.count)
        var children = [[Int]](repeating: [], count: unique.count)
        for (position, parents) in parentIndices.enumerated() {
            for parent in parents { children[parent].append(position) }
        }
        var ready = pendingParents.indices.filter { pendingParents[$0] == 0 }
        var placed = 0
        while let position = ready.popLast() {
            placed += 1
            for child in children[position] {
                pendingParents[child] -= 1
                if pendingParents[child] == 0 { ready.append(child) }
            }
        }
        guard placed < unique.count else { return found }
        let byID = Dictionary(unique.map { ($0.revision, $0) }, uniquingKeysWith: { first, _ in first })

        // A cycle among the rows that are otherwise sound (missing parents were reported above).
        let nodes = byID.values.map { row in RevisionNode(id: row.revision, parents: row.parents.filter(ids.contains)) }
        do throws(GraphError) {
            _ = try RevisionGraph(nodes)
        } catch {
            if case .cycle(let path) = error {
                let members = Array(Set(path)).sorted()
                let fixes = members.compactMap { revision -> String? in
                    guard let parents = fileParents[revision], let row = byID[revision], parents != row.parents else {
                        return nil
                    }
                    return setParents(table, revision, parents)
                }
                found.append(
                    LedgerDamage(
                        kind: .parentCycle, revisions: members,
                        problem:
                            "the parents recorded in \(table) form a cycle: \(path.joined(separator: " -> ")) (edited by hand?)",
                        remedy: fixes.isEmpty
                            ? "restore the parents of \(members.joined(separator: ", ")) from a backup of schema \(quoteIdentifier(schema)); `repair` cannot fix parents"
                            : "set the parents their files name: `\(fixes.joined(separator: " "))`"))
            }
        }
        return found
    }

    /// The refusal of a writing command (or plan) on a damaged ledger: nothing runs until it is mended.
    static func refusal(_ damage: [LedgerDamage], environment: String) -> OrchestrateError {
        let lines = damage.map { "  - \($0.problem)\n    way out: \($0.remedy)" }.joined(separator: "\n")
        return .policy(
            "environment `\(environment)`: the ledger is damaged; nothing was run:\n\(lines)",
            hint: "mend the ledger as above, then `orchestrate doctor` checks it again")
    }

    /// `UPDATE … SET parents = … WHERE revision = …;`
    static func setParents(_ table: String, _ revision: String, _ parents: [String]) -> String {
        "UPDATE \(table) SET parents = \(quoteLiteral(SQLParameter.arrayLiteral(parents)))::text[] WHERE revision = \(quoteLiteral(revision));"
    }

    /// An SQL identifier, quoted (for text shown to a DBA; the SQL orchestrate runs quotes through libpq).
    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// An SQL string literal (standard_conforming_strings, PostgreSQL's default since 9.1).
    static func quoteLiteral(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
