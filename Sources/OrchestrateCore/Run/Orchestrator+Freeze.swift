import Foundation
import Migrations
import Postgres

extension Orchestrator {
    // MARK: - freeze, thaw

    /// Freezes `name`: every writing command refuses it until `unlock`.
    public func freeze(_ name: String, reason: String) throws(OrchestrateError) {
        let environment = try project.environment(name)
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .usage("lock needs a --reason that says why the environment is frozen")
        }
        let provenance = try? GitProvenance.current(
            projectRoot: project.root, environment: environment, isFirstStage: true,
            progress: { _ in })
        let session = try EnvironmentSession.open(
            environment, projectRoot: project.root, command: "lock \(name)", actor: actor,
            provenance: provenance ?? nil, checkFreeze: false, interruptions: interruptions,
            slot: connectionSlot, progress: progress)
        defer { session.close() }
        let existing: Freeze?
        do throws(PostgresError) { existing = try session.ledger.freeze() } catch {
            throw session.ledger.failure(error, environment: environment)
        }
        if let existing {
            recordRefusal(session, action: .lock, outcome: .refused, message: "already \(existing.summary)")
            throw .locked(
                "environment `\(name)` is already \(existing.summary)",
                hint: "`orchestrate unlock \(name)` first to change the reason")
        }
        // The freeze and its event commit together, or neither does.
        try session.ledgerTransaction(
            session.ledger.freezeInsert(run: session.run, reason: reason),
            session.ledger.eventInsert(NewEvent(run: session.run, action: .lock, outcome: .frozen, message: reason)),
            failure: "cannot freeze")
    }

    /// Thaws `name`. Returns the freeze that was lifted, or nil when it was not frozen.
    @discardableResult
    public func thaw(_ name: String) throws(OrchestrateError) -> Freeze? {
        let environment = try project.environment(name)
        let session = try EnvironmentSession.open(
            environment, projectRoot: project.root, command: "unlock \(name)", actor: actor,
            provenance: nil, checkFreeze: false, interruptions: interruptions,
            slot: connectionSlot, progress: progress)
        defer { session.close() }
        let existing: Freeze?
        do throws(PostgresError) { existing = try session.ledger.freeze() } catch {
            throw session.ledger.failure(error, environment: environment)
        }
        guard let existing else { return nil }
        // The thaw and its event commit together, or neither does.
        try session.ledgerTransaction(
            session.ledger.freezeDelete(),
            session.ledger.eventInsert(
                NewEvent(
                    run: session.run, action: .unlock, outcome: .thawed,
                    message: "was: \(existing.reason)")),
            failure: "cannot unlock")
        return existing
    }
}
