import Foundation
import Migrations
import Postgres

/// What `baseline` recorded.
public struct BaselineReport: Sendable, Codable {
    /// The environment baselined.
    public var environment: String
    /// Where the position came from: `--to REV`, or the other tool's table (`Alembic at a7f3c9d21b04`).
    public var source: String
    /// The revisions recorded as applied by this run, in graph order.
    public var recorded: [String]
    /// The revisions of the position the ledger already recorded (a second baseline adds only the rest).
    public var alreadyRecorded: [String]
    /// The live schema against the schema the revisions produce on the scratch database: `+` only in the
    /// environment, `-` missing from it, `~` different. Non-empty only with `--accept-differences`.
    public var differences: [SchemaDifference]
    /// The scratch database the revisions ran on, for display.
    public var scratch: String?
    /// The reason given, as recorded in the event log.
    public var reason: String
}

/// Where `baseline` takes the position from.
public enum BaselinePosition: Sendable {
    /// A revision of `migrations/`, and its ancestors.
    case revision(String)
    /// What another tool's table in the environment's database records.
    case tool(ForeignTool)
}

extension Orchestrator {
    /// Records the revisions of `position` in `name`'s ledger as applied without running them (rows marked
    /// `baselined`), as one audited `baseline` event with `reason`, under the environment lock.
    ///
    /// Before recording, the live schema (without the ledger and the other tools' tables) is compared with the schema
    /// those revisions produce on a scratch database (a throwaway database on the sandbox, or `scratchURL`, which must
    /// be empty and keeps the revisions applied); a difference refuses unless `acceptDifferences`, which writes them
    /// into the event. A ledger that already records revisions is baselined only when they are a subset of the
    /// position: the missing ones are recorded. The other tool's table is left alone. Every refusal is an event.
    public func baseline(
        _ name: String, position: BaselinePosition, reason: String, scratchURL: String? = nil,
        acceptDifferences: Bool = false
    ) throws(OrchestrateError) -> BaselineReport {
        let migrations = try project.loadMigrations()
        let (reason, session) = try openAuditedEdit(
            name, command: "baseline", reason: reason,
            why: "why the database already runs these revisions")
        defer { session.close() }
        let environment = session.environment
        var report = BaselineReport(
            environment: name, source: "", recorded: [], alreadyRecorded: [], differences: [],
            scratch: nil, reason: reason)
        let files: [MigrationFile]
        let head: String?
        do throws(OrchestrateError) {
            let recorded = try readApplied(session)
            try refuseInterrupted(recorded, environment: name)
            let foreign: [ForeignLedger]
            do throws(PostgresError) { foreign = try ForeignLedgers.read(on: session.lockConnection) } catch {
                throw .operation("environment `\(name)`: cannot read the other tools' tables", error)
            }
            let wanted: Set<String>
            switch position {
            case .revision(let spec):
                let id: String
                do throws(GraphError) { id = try migrations.graph.resolve(spec) } catch {
                    throw planError(.graph(error), environment: name)
                }
                wanted = migrations.graph.ancestors(of: id).union([id])
                report.source = "--to \(id)"
            case .tool(let tool):
                let ledger: ForeignLedger?
                do throws(PostgresError) {
                    ledger = try ForeignLedgers.read(on: session.lockConnection, only: tool).first
                } catch {
                    throw .operation("environment `\(name)`: cannot read \(tool.rawValue)'s table", error)
                }
                guard let ledger else {
                    let table = ForeignLedgers.tables.first { $0.tools.contains(tool) }?.table ?? tool.rawValue
                    throw .usage(
                        "environment `\(name)` has no \(table) table on its search path: \(tool.rawValue) does not manage it; nothing was recorded",
                        hint: "name the revision it runs instead: orchestrate baseline \(name) --to REV --reason ...")
                }
                wanted = try ForeignLedgers.applied(ledger, graph: migrations.graph, environment: name)
                report.source = ledger.position
            }
            let recordedIDs = Set(recorded.map(\.revision))
            let extra = recorded.map(\.revision).filter { !wanted.contains($0) }
            guard extra.isEmpty else {
                throw .policy(
                    "environment `\(name)` already records \(Listing.items(extra, limit: 5, counted: true)) beyond \(report.source): baseline only adds revisions below what a ledger records; nothing was recorded",
                    hint: "`orchestrate status \(name)` shows what it runs; baseline a position that includes it")
            }
            let order = migrations.graph.topologicalOrder.filter(wanted.contains)
            files = try order.map { (id) throws(OrchestrateError) -> MigrationFile in
                guard let file = migrations.files[id] else {
                    throw .usage(
                        "revision \(id) has no file in migrations/: baseline records files as they are",
                        hint: "restore its file")
                }
                return file
            }
            head = order.last { id in migrations.graph.children(of: id).allSatisfy { !wanted.contains($0) } }
            report.alreadyRecorded = order.filter(recordedIDs.contains)
            report.recorded = order.filter { !recordedIDs.contains($0) }
            guard !report.recorded.isEmpty else {
                progress(.notice("`\(name)` already records every revision of \(report.source); nothing to baseline"))
                return report
            }
            // Other tools' tables (alembic_version, …) say which migrations ran, not what the schema is.
            let live: SchemaModel
            do throws(PostgresError) {
                live = try SchemaModel.read(from: session.lockConnection, excludedSchemas: [environment.ledgerSchema])
                    .removingForeignTables(foreign)
            } catch {
                throw .operation("environment `\(name)`: cannot read its catalog", error)
            }
            if let refusal = Preflight.refusal(Preflight.problems(applying: files)) { throw refusal }
            let (expected, scratch, _) = try replayOnScratch(
                files, command: "baseline", what: nil, scratchURL: scratchURL, quiet: false,
                consequence: "its schema cannot be compared")
            report.scratch = scratch.display
            report.differences = SchemaSnapshot(expected).differences(to: SchemaSnapshot(live))
            if !report.differences.isEmpty, !acceptDifferences {
                throw .policy(
                    "environment `\(name)`'s schema differs from what \(report.source) produces (\(report.differences.count) difference\(report.differences.count == 1 ? "" : "s"): + only in `\(name)`, - missing from it, ~ different):\n"
                        + report.differences.map { "  \($0)" }.joined(separator: "\n") + "\nnothing was recorded",
                    hint:
                        "bring the database in line, baseline another position, or rerun with --accept-differences to record them in the event"
                )
            }
        } catch {
            recordRefusal(session, action: .baseline, error)
            throw error
        }
        var message =
            "recorded \(report.recorded.count) revision(s) as applied without running them, from \(report.source): \(Listing.items(report.recorded, limit: 20, counted: false))"
        if !report.alreadyRecorded.isEmpty { message += "; \(report.alreadyRecorded.count) already recorded" }
        message += "; reason: \(reason)"
        if !report.differences.isEmpty {
            message += "; differences accepted: " + report.differences.map(\.description).joined(separator: "; ")
        }
        let ledger = session.ledger
        let recording = Set(report.recorded)
        var statements = files.filter { recording.contains($0.revision) }.map {
            ledger.baselineRow($0, run: session.run)
        }
        statements.append(
            ledger.eventInsert(
                NewEvent(
                    run: session.run, action: .baseline, revision: head, outcome: .succeeded,
                    message: String(message.prefix(8000)))))
        try commitAuditedEdit(
            statements, session: session, action: .baseline, revision: head, what: "record the baseline")
        return report
    }
}
