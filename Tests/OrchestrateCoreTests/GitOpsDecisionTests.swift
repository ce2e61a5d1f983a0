import Migrations
import Testing

@testable import OrchestrateCore

/// The pure decisions behind `repair` and `rebase`, from literal values.
@Suite("repair and rebase decisions")
struct GitOpsDecisionTests {
    func row(
        _ id: String, parents: [String] = ["p"], checksum: String = "old", state: AppliedRevision.State = .applied
    ) -> AppliedRevision {
        AppliedRevision(
            revision: id, parents: parents, checksum: checksum, transactional: false, state: state, statementsDone: 1,
            statementsTotal: 3, appliedAt: "", databaseUser: "u", osUser: nil, host: nil, gitCommit: nil,
            gitBranch: nil,
            gitDirty: nil, durationMilliseconds: nil, promotedFrom: nil, isReversible: true)
    }

    func file(_ id: String, parent: String = "p", up: String = "SELECT 1;\n") throws -> MigrationFile {
        try MigrationFile.parse(
            path: "migrations/\(id).sql", bytes: Array("-- parent: \(parent)\n-- migrate:up\n\(up)".utf8))
    }

    @Test("repair: an edited file is accepted, a matching one is left, flags settle only interrupted rows")
    func repairDecisions() throws {
        let edited = try file("r")
        #expect(
            try RepairDecision.decide(row: row("r"), file: edited, settlement: nil, environment: "dev")
                == .acceptFile(oldChecksum: "old", newChecksum: edited.checksum))
        #expect(
            try RepairDecision.decide(
                row: row("r", checksum: edited.checksum), file: edited, settlement: nil, environment: "dev")
                == .nothingToDo)
        #expect(
            try RepairDecision.decide(
                row: row("r", state: .running), file: edited, settlement: .applied, environment: "dev")
                == .markApplied)
        #expect(
            try RepairDecision.decide(
                row: row("r", state: .reverting), file: nil, settlement: .reverted, environment: "dev")
                == .markReverted)

        func refusal(
            _ row: AppliedRevision, _ file: MigrationFile?, _ settlement: RepairSettlement?
        ) -> OrchestrateError? {
            do {
                _ = try RepairDecision.decide(row: row, file: file, settlement: settlement, environment: "dev");
                return nil
            } catch { return error }
        }
        let unsettled = refusal(row("r", state: .running), edited, nil)
        #expect(unsettled?.category == .usage)
        #expect(unsettled?.message.contains("while applying, at statement 2 of 3") == true)
        let reverting = refusal(row("r", state: .reverting), edited, nil)
        #expect(reverting?.message.contains("while reverting") == true)
        #expect(reverting?.hint?.contains("--reverted if all of its down statements took effect") == true)
        #expect(
            refusal(row("r"), edited, .applied)?.message.contains("fully applied in `dev`, not interrupted") == true)
        #expect(refusal(row("r"), edited, .reverted)?.hint?.contains("run repair without --reverted") == true)
        #expect(refusal(row("r"), nil, nil)?.message.contains("has no file in migrations/") == true)
        #expect(refusal(row("r", parents: ["q"]), edited, nil)?.message.contains("now names parent(s) p") == true)
    }

    @Test("rebase: the plan moves one parent; applied environments block, unreachable ones block unless forced")
    func rebaseDecisions() throws {
        func files(_ entries: [(String, String)]) -> [String: (path: String, bytes: [UInt8])] {
            Dictionary(uniqueKeysWithValues: entries.map { ($0.0, ("migrations/\($0.0).sql", Array($0.1.utf8))) })
        }
        let set = files([
            ("a", "-- migrate:up\nSELECT 1;\n"), ("b", "-- parent: a\n-- migrate:up\nSELECT 2;\n"),
            ("c", "-- parent: a\n-- migrate:up\nSELECT 3;\n"),
        ])
        let plan = try Authoring.planRebase(files: set, revision: "c", onto: "b")
        #expect(plan.changes && plan.parent == "b" && plan.previousParents == ["a"] && plan.headsAfter == ["c"])
        #expect(String(decoding: plan.bytes, as: UTF8.self) == "-- parent: b\n-- migrate:up\nSELECT 3;\n")
        #expect(try !Authoring.planRebase(files: set, revision: "c", onto: "a").changes)
        // A broken graph (a missing parent) can still be repaired by a rebase.
        let broken = files([("a", "-- migrate:up\n"), ("b", "-- parent: gone\n-- migrate:up\n")])
        #expect(try Authoring.planRebase(files: broken, revision: "b", onto: "a").headsAfter == ["b"])

        func position(_ name: String, _ recorded: [String], reachable: Bool = true) -> EnvironmentPosition {
            EnvironmentPosition(
                name: name, reachable: reachable, error: reachable ? nil : "down\nmore", recorded: recorded,
                heads: [], interrupted: [])
        }
        #expect(
            try Authoring.rebaseBlockers(
                revision: "c", positions: [position("dev", ["a", "b"])], forceUnreachable: false) == [])
        do {
            _ = try Authoring.rebaseBlockers(
                revision: "c",
                positions: [
                    position("dev", ["a", "c"]), position("qa", ["a", "c"]),
                    position("x", [], reachable: false),
                ],
                forceUnreachable: true)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.category == .policy)
            #expect(error.message.hasPrefix("c is applied to `dev`, `qa`"))
        }
        do {
            _ = try Authoring.rebaseBlockers(
                revision: "c", positions: [position("x", [], reachable: false)], forceUnreachable: false)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.category == .operation)
            #expect(error.message.contains("`x`: down;") || error.message.contains("`x`: down"))
            #expect(!error.message.contains("more"))
        }
        #expect(
            try Authoring.rebaseBlockers(
                revision: "c", positions: [position("x", [], reachable: false)], forceUnreachable: true) == ["x"])
    }
}
