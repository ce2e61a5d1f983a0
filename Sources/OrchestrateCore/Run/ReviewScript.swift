import Foundation
import Migrations

/// The reviewer's view of a plan (`plan --sql --no-ledger`, and the offline `plan --sql --from REV --to REV`): the
/// revisions' own SQL in the order it would run, each under a comment naming the revision and its file, with the
/// transaction boundaries it runs in; no session settings, no lock, no ledger writes.
///
/// Like `alembic upgrade A:B --sql`, it is for reading, or for running by hand where orchestrate cannot connect; a
/// database changed that way is not recorded in its ledger (`orchestrate baseline` records it afterwards).
public enum ReviewScript {
    /// One revision of the script.
    public struct Item: Sendable {
        public var revision: String
        public var path: String
        public var sql: String
        public var transactional: Bool

        public init(revision: String, path: String, sql: String, transactional: Bool) {
            self.revision = revision
            self.path = path
            self.sql = sql
            self.transactional = transactional
        }
    }

    /// The script of `items`, run `up` or down, described by `title`.
    public static func render(_ items: [Item], title: String, up: Bool, singleTransaction: Bool = false) -> String {
        var lines = [
            "-- orchestrate plan --sql --no-ledger: \(title), \(items.count) revision(s)",
            "-- The revisions' own SQL only: no lock and no ledger rows. A database changed by running this",
            "-- by hand is not recorded in its ledger; `orchestrate status` will not know it ran.",
        ]
        if items.isEmpty { lines.append("-- nothing to run") }
        if singleTransaction, !items.isEmpty {
            lines += ["", "BEGIN;"]
        }
        for (offset, item) in items.enumerated() {
            lines.append("")
            lines.append(
                "-- \(offset + 1)/\(items.count) \(item.revision) (\(item.path)), \(up ? "up" : "down")"
                    + (item.transactional ? "" : ", non-transactional: each statement in autocommit"))
            let body = item.sql.trimmingCharacters(in: .whitespacesAndNewlines)
            if item.transactional, !singleTransaction { lines.append("BEGIN;") }
            if !body.isEmpty { lines.append(body.hasSuffix(";") || body.hasSuffix("*/") ? body : body + ";") }
            if item.transactional, !singleTransaction { lines.append("COMMIT;") }
        }
        if singleTransaction, !items.isEmpty { lines += ["", "COMMIT;"] }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Orchestrator {
    /// The offline plan, from the migration files alone, like `alembic upgrade A:B --sql`: what going from `from` to
    /// `to` runs (up when `to` builds on `from`, down with the files' down sections when `from` builds on `to`).
    /// `base` is nothing applied; `head` is the single head. Needs no database.
    public func offlineScript(from: String, to: String) throws(OrchestrateError) -> String {
        let migrations = try project.loadMigrations()
        let graph = migrations.graph
        func closure(_ spec: String) throws(OrchestrateError) -> Set<String> {
            if spec == "base" { return [] }
            let id = try resolveSpec(spec, in: graph)
            return graph.ancestors(of: id).union([id])
        }
        let start = try closure(from)
        let end = try closure(to)
        if start.isSubset(of: end) {
            let revisions = graph.topologicalOrder.filter { end.contains($0) && !start.contains($0) }
            let files = revisions.compactMap { migrations.files[$0] }
            if let refusal = Preflight.refusal(Preflight.problems(applying: files)) { throw refusal }
            return ReviewScript.render(
                files.map {
                    ReviewScript.Item(
                        revision: $0.revision, path: $0.path, sql: $0.up,
                        transactional: $0.transactional)
                },
                title: "upgrade from \(from) to \(to), from the files (offline)", up: true)
        }
        if end.isSubset(of: start) {
            let revisions = graph.topologicalOrder.filter { start.contains($0) && !end.contains($0) }.reversed()
            let files = revisions.compactMap { migrations.files[$0] }
            let irreversible = files.filter { $0.down == nil }.map(\.revision)
            if !irreversible.isEmpty {
                throw planError(.irreversible(irreversible), environment: "the offline plan")
            }
            return ReviewScript.render(
                files.map {
                    ReviewScript.Item(
                        revision: $0.revision, path: $0.path + " (down)",
                        sql: $0.down ?? "", transactional: $0.transactional)
                },
                title: "downgrade from \(from) to \(to), from the files (offline)", up: false)
        }
        throw .usage(
            "\(to) neither builds on \(from) nor is one of its ancestors, so there is no single direction to plan",
            hint: "plan from a common ancestor: `orchestrate plan --sql --from base --to \(to)`")
    }

    private func resolveSpec(_ spec: String, in graph: RevisionGraph) throws(OrchestrateError) -> String {
        do throws(GraphError) { return try graph.resolve(spec) } catch {
            throw planError(.graph(error), environment: "the offline plan")
        }
    }
}
