import Testing

@testable import OrchestrateCore

/// `LedgerHealth.damage`: every kind of damage found from rows alone, each named once, with its way out.
@Suite("ledger health")
struct LedgerHealthTests {
    static func row(_ id: String, _ parents: [String] = []) -> AppliedRevision {
        AppliedRevision(
            revision: id, parents: parents, checksum: "c", transactional: true, state: .applied,
            statementsDone: nil, statementsTotal: nil, appliedAt: "2026-01-01T00:00:00.000Z",
            databaseUser: "u", osUser: nil, host: nil, gitCommit: nil, gitBranch: nil, gitDirty: nil,
            durationMilliseconds: nil, promotedFrom: nil, isReversible: true)
    }

    @Test("a sound ledger, an empty one, several roots and a merge have no damage")
    func sound() {
        #expect(LedgerHealth.damage(rows: [], versionRow: .present, schema: "orchestrate").isEmpty)
        let rows = [Self.row("a"), Self.row("b"), Self.row("c", ["a", "b"])]
        #expect(LedgerHealth.damage(rows: rows, versionRow: .present, schema: "orchestrate").isEmpty)
    }

    @Test("every damage is reported, none hides another")
    func all() {
        let rows = [Self.row("a"), Self.row("a"), Self.row("b", ["gone"]), Self.row("x", ["y"]), Self.row("y", ["x"])]
        let damage = LedgerHealth.damage(rows: rows, versionRow: .missing, schema: "led\"ger")
        #expect(damage.map(\.kind) == [.versionMissing, .duplicateRow, .missingParent, .parentCycle])
        #expect(damage[0].remedy.contains("INSERT INTO \"led\"\"ger\".ledger_meta (version) VALUES (1);"))
        #expect(damage[1].problem == "revision a has 2 rows in \"led\"\"ger\".revisions (its primary key was dropped)")
        #expect(damage[2].revisions == ["b", "gone"])
        #expect(damage[2].remedy.contains("restore the row of gone from a backup"))
        #expect(damage[3].revisions == ["x", "y"])
        #expect(damage[3].problem.contains("x -> y -> x"))
    }

    @Test("parents edited by hand: the exact UPDATE from the files, quoted")
    func editedParents() {
        let rows = [Self.row("a"), Self.row("b'1", ["nope"])]
        let damage = LedgerHealth.damage(
            rows: rows, versionRow: .present, schema: "orchestrate",
            fileParents: ["a": [], "b'1": ["a"]])
        #expect(damage.map(\.kind) == [.missingParent])
        #expect(
            damage[0].remedy.contains(
                "UPDATE \"orchestrate\".revisions SET parents = '{\"a\"}'::text[] WHERE revision = 'b''1';"))
        // The file's parents are no help when they are missing too: a backup is.
        let lost = LedgerHealth.damage(
            rows: [Self.row("b", ["a"])], versionRow: .present, schema: "orchestrate",
            fileParents: ["b": ["a"]])
        #expect(lost[0].remedy.contains("restore the row of a"))
    }

    @Test("a lost ledger_meta table names the CREATE TABLE that restores it")
    func tableMissing() {
        let damage = LedgerHealth.damage(rows: [Self.row("a")], versionRow: .tableMissing, schema: "orchestrate")
        #expect(damage.map(\.kind) == [.versionMissing])
        #expect(damage[0].remedy.contains("CREATE TABLE \"orchestrate\".ledger_meta"))
    }
}
