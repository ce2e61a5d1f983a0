import Foundation
import Migrations
import Postgres

/// How `repair` settles an interrupted non-transactional revision.
public enum RepairSettlement: String, Sendable, Codable {
    /// The database holds all of the revision's up statements: mark it applied.
    case applied
    /// The database holds none of them: forget it (remove its ledger row).
    case reverted
}

/// What `repair` decided for one ledger row; pure (see `RepairDecision.decide`).
public enum RepairDecision: Sendable, Equatable {
    /// Record the file's checksum, SQL and transaction mode in place of what the ledger holds.
    case acceptFile(oldChecksum: String, newChecksum: String)
    /// Mark an interrupted revision applied.
    case markApplied
    /// Remove an interrupted revision's row.
    case markReverted
    /// The row already matches the file.
    case nothingToDo

    /// The decision for `row` (in environment `environment`) given the file at HEAD (nil: none) and the settlement
    /// asked for; throws a usage error for combinations that make no sense, naming the way out.
    public static func decide(
        row: AppliedRevision, file: MigrationFile?, settlement: RepairSettlement?,
        environment: String
    ) throws(OrchestrateError) -> RepairDecision {
        let id = row.revision
        if row.state != .applied {
            let phase = row.state == .running ? "applying" : "reverting"
            let at = "statement \((row.statementsDone ?? 0) + 1) of \(row.statementsTotal ?? 0)"
            guard let settlement else {
                let way =
                    row.state == .running
                    ? "--applied if all of its up statements took effect (finish the rest by hand first), or --reverted if none did (undo those that did first)"
                    : "--applied if it is still fully in effect (redo what its down statements undid first), or --reverted if all of its down statements took effect"
                throw .usage(
                    "revision \(id) was interrupted in `\(environment)` while \(phase), at \(at) (non-transactional): say how it ended",
                    hint: "check the database, then rerun with \(way)")
            }
            return settlement == .applied ? .markApplied : .markReverted
        }
        if let settlement {
            throw .usage(
                "revision \(id) is fully applied in `\(environment)`, not interrupted: --\(settlement.rawValue) only settles a non-transactional revision left half-done",
                hint: file.map {
                    $0.checksum != row.checksum
                        ? "to accept its edited file, run repair without --\(settlement.rawValue)"
                        : "to revert it, `orchestrate downgrade \(environment)`"
                }
                    ?? "to revert it, `orchestrate downgrade \(environment)`")
        }
        guard let file else {
            throw .usage(
                "revision \(id) has no file in migrations/ (an orphan in `\(environment)`): there is no checksum to accept",
                hint:
                    "`orchestrate downgrade \(environment)` reverts it with the SQL recorded in the ledger, or restore its file"
            )
        }
        guard file.checksum != row.checksum else { return .nothingToDo }
        guard file.parents == row.parents else {
            throw .usage(
                "\(file.path) now names parent(s) \(file.parents.joined(separator: ", ")), but \(id) was applied to `\(environment)` on \(row.parents.isEmpty ? "no parent" : row.parents.joined(separator: ", ")): repair accepts edits to the SQL only",
                hint: "restore its `-- parent:` line; an applied revision cannot move")
        }
        return .acceptFile(oldChecksum: row.checksum, newChecksum: file.checksum)
    }
}

/// What `repair` did.
public struct RepairReport: Sendable, Codable {
    /// The environment repaired.
    public var environment: String
    /// The revision whose ledger row was settled.
    public var revision: String
    /// `accepted` (the file's checksum), `applied` or `reverted` (an interrupted revision settled), or `unchanged`.
    public var outcome: EventOutcome
    /// The checksum the ledger held before.
    public var oldChecksum: String?
    /// The checksum it holds now, when the file's was accepted.
    public var newChecksum: String?
    /// The reason given, as recorded in the event log.
    public var reason: String
}

extension Orchestrator {
    /// Settles one ledger row of `name`, under its lock, as an audited `repair` event with `reason`:
    /// - without `settlement`, for a revision whose file was edited after it was applied: records the file's current
    ///   checksum, SQL and transaction mode (the event names the old and the new checksum), so that later stages can
    ///   promote it;
    /// - with `settlement`, for a non-transactional revision left `running` or `reverting`: marks it applied, or
    ///   removes its row.
    ///
    /// A frozen environment is refused like any writing command; a later stage refuses uncommitted changes.
    public func repair(
        _ name: String, revision spec: String, reason: String,
        settlement: RepairSettlement?
    ) throws(OrchestrateError) -> RepairReport {
        let files = try project.loadMigrations()
        let (reason, session) = try openAuditedEdit(
            name, command: "repair", reason: reason, why: "why the change is safe")
        defer { session.close() }
        let environment = session.environment
        let row: AppliedRevision
        let decision: RepairDecision
        do throws(OrchestrateError) {
            let rows: [AppliedRevision]
            do throws(PostgresError) { rows = try session.ledger.appliedRevisions() } catch {
                throw session.ledger.failure(error, environment: environment)
            }
            // repair mends what a file or an interrupted run did, not rows deleted or edited by hand.
            try refuseDamaged(rows, ledger: session.ledger, environment: name)
            row = try ledgerRow(spec, rows: rows, files: files, environment: name)
            decision = try RepairDecision.decide(
                row: row, file: files.files[row.revision], settlement: settlement,
                environment: name)
        } catch {
            recordRefusal(session, action: .repair, error)
            throw error
        }
        var report = RepairReport(
            environment: name, revision: row.revision, outcome: .unchanged, oldChecksum: row.checksum,
            newChecksum: nil, reason: reason)
        let ledger = session.ledger
        var statements: [SQLCommand] = []
        let message: String
        switch decision {
        case .nothingToDo:
            progress(
                .notice(
                    "\(files.files[row.revision]?.path ?? row.revision) already has the checksum `\(name)` recorded; nothing to repair"
                ))
            return report
        case .acceptFile(let old, let new):
            let file = files.files[row.revision]!
            statements.append(ledger.acceptFile(file))
            report.outcome = .accepted
            report.newChecksum = new
            message = "accepted the edited \(file.path): checksum \(old) -> \(new); reason: \(reason)"
        case .markApplied:
            let up: String
            do throws(PostgresError) { up = try session.ledger.sql(of: [row.revision])[row.revision]?.up ?? "" } catch {
                throw session.ledger.failure(error, environment: environment)
            }
            statements.append(ledger.settleApplied(row.revision, statements: SQLSplitter.split(up).count))
            report.outcome = .applied
            message =
                "marked applied (was \(row.state == .running ? "interrupted while applying" : "interrupted while reverting") at statement \((row.statementsDone ?? 0) + 1) of \(row.statementsTotal ?? 0)); reason: \(reason)"
        case .markReverted:
            statements.append(ledger.deleteRevision(row.revision))
            report.outcome = .reverted
            message =
                "marked reverted, its ledger row removed (was \(row.state == .running ? "interrupted while applying" : "interrupted while reverting") at statement \((row.statementsDone ?? 0) + 1) of \(row.statementsTotal ?? 0)); reason: \(reason)"
        }
        statements.append(
            ledger.eventInsert(
                NewEvent(
                    run: session.run, action: .repair, revision: row.revision,
                    outcome: report.outcome, message: message)))
        try commitAuditedEdit(
            statements, session: session, action: .repair, revision: row.revision,
            what: "repair \(row.revision)")
        return report
    }

    /// The ledger row `spec` names: an exact id or a unique prefix among the recorded revisions.
    private func ledgerRow(
        _ spec: String, rows: [AppliedRevision], files: MigrationSet,
        environment: String
    ) throws(OrchestrateError) -> AppliedRevision {
        if let exact = rows.first(where: { $0.revision == spec }) { return exact }
        let candidates = rows.filter { $0.revision.hasPrefix(spec) && !spec.isEmpty }
        if candidates.count == 1 { return candidates[0] }
        if candidates.count > 1 {
            throw .usage(
                "`\(spec)` is ambiguous in `\(environment)`'s ledger: \(candidates.map(\.revision).sorted().joined(separator: ", "))",
                hint: "type more of the id")
        }
        if let known = try? files.graph.resolve(spec) {
            throw .usage(
                "revision \(known) is not recorded in `\(environment)`'s ledger: there is nothing to repair",
                hint: "`orchestrate status \(environment)` shows what it runs")
        }
        throw .usage(
            "`\(environment)`'s ledger records no revision `\(spec)` (nor one starting with it): there is nothing to repair",
            hint: "`orchestrate status \(environment)` shows what it runs")
    }
}
