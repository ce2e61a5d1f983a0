import Foundation
import Postgres
import TestSupport
import Testing

@testable import OrchestrateCore

/// The differ's proof against a real PostgreSQL: for each pair of schemas (A, B), A and B are built in two scratch
/// databases and read; `changes(A→B)` applied to A's database makes its model equal B's, and `changes(B→A)` applied
/// after that brings back A's. Hand-written pairs cover every object kind of the model (see `SchemaCorpus`); the
/// generated pairs come from a seeded random schema generator.
@Suite("schema differ corpus")
struct SchemaCorpusTests {
    @Test("hand-written pairs, both ways", arguments: SchemaCorpus.handWritten)
    func handWritten(_ pair: SchemaPair) throws {
        try Self.prove(pair)
    }

    @Test("generated pairs, both ways", arguments: SchemaCorpus.generated(count: 16, seed: 16))
    func generated(_ pair: SchemaPair) throws {
        try Self.prove(pair)
    }

    /// Builds both sides, diffs both ways, applies, and compares the catalogs.
    static func prove(_ pair: SchemaPair) throws {
        let a = try TestPostgres.createDatabase(prefix: "t_corpus_a")
        defer { TestPostgres.dropDatabase(a.name) }
        let b = try TestPostgres.createDatabase(prefix: "t_corpus_b")
        defer { TestPostgres.dropDatabase(b.name) }
        let left = try Connection(conninfo: a.conninfo)
        defer { left.close() }
        let right = try Connection(conninfo: b.conninfo)
        defer { right.close() }
        try left.execute(pair.a)
        try right.execute(pair.b)
        let modelA = try SchemaModel.read(from: left, excludedSchemas: [])
        let modelB = try SchemaModel.read(from: right, excludedSchemas: [])
        #expect(modelA != modelB || pair.a == pair.b, "the pair \(pair.name) differs in nothing the model sees")

        let forward = SchemaDiffer.changes(from: modelA, to: modelB)
        try apply(forward, on: left, pair: pair, direction: "A→B")
        let reached = try SchemaModel.read(from: left, excludedSchemas: [])
        expectEqual(reached, modelB, pair: pair, direction: "A→B", applied: forward)

        let backward = SchemaDiffer.changes(from: modelB, to: modelA)
        try apply(backward, on: left, pair: pair, direction: "B→A")
        let back = try SchemaModel.read(from: left, excludedSchemas: [])
        expectEqual(back, modelA, pair: pair, direction: "B→A", applied: backward)
    }

    /// Runs every statement of `changes` on its own (a value added to an enum must be committed before it is used).
    static func apply(_ changes: [SchemaChange], on connection: Connection, pair: SchemaPair, direction: String) throws
    {
        for change in changes {
            for statement in change.sql {
                do {
                    try connection.execute(statement)
                } catch {
                    let message =
                        "\(pair.name) \(direction): \(change.object): \(statement) failed: \(error.description)\n"
                        + "all changes:\n" + script(changes)
                    Issue.record(Comment(rawValue: message))
                    throw error
                }
            }
        }
    }

    static func expectEqual(
        _ reached: SchemaModel, _ wanted: SchemaModel, pair: SchemaPair, direction: String, applied: [SchemaChange]
    ) {
        let equal = reached.normalized() == wanted.normalized()
        let left = SchemaDiffer.changes(from: reached, to: wanted)
        let snapshot = SchemaSnapshot(reached).differences(to: SchemaSnapshot(wanted))
        #expect(
            equal && left.isEmpty,
            """
            \(pair.name) \(direction): the catalog after the diff is not the target's
            still to do: \(left.map(\.description))
            snapshot differences: \(snapshot.map(\.description))
            model differences: \(modelDifferences(reached.normalized(), wanted.normalized()))
            applied:
            \(script(applied))
            """)
    }

    static func script(_ changes: [SchemaChange]) -> String {
        changes.map { "-- \($0)\n" + $0.sql.joined(separator: "\n") }.joined(separator: "\n")
    }

    /// The JSON lines that differ between two models, for a failure message.
    static func modelDifferences(_ a: SchemaModel, _ b: SchemaModel) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let left = (try? encoder.encode(a)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let right = (try? encoder.encode(b)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let diff = right.split(separator: "\n").difference(from: left.split(separator: "\n"))
        return diff.prefix(20).map { change in
            switch change {
            case .insert(_, let line, _): return "+ \(line)"
            case .remove(_, let line, _): return "- \(line)"
            }
        }
    }
}
