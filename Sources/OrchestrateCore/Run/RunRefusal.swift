import Foundation
import Postgres

/// Recording the runs that stopped before running anything (refused, locked out, failed to read) in the event log,
/// so that `audit` shows every attempt on an environment, not only the runs that got through.
enum RunRefusal {
    /// The outcome an event records for a run stopped by `error` before it ran anything: `refused` for a policy,
    /// usage or freeze refusal, `locked out` when a lock could not be had, `failed` for a database or git failure.
    static func outcome(of error: OrchestrateError) -> EventOutcome {
        switch error.category {
        case .policy, .usage: return .refused
        case .locked: return .lockedOut
        case .operation: return .failed
        case .interrupted: return .interrupted
        }
    }

    /// The git commit and branch of `projectRoot`'s HEAD, when there is one, without the rules a run applies to it
    /// (a refusal is recorded with the commit it was attempted from, whatever the state of the tree).
    static func knownProvenance(projectRoot: String, environment: EnvironmentConfig) -> Provenance? {
        var lenient = environment
        lenient.branch = nil
        return
            (try? GitProvenance.current(
                projectRoot: projectRoot, environment: lenient, isFirstStage: true,
                progress: { _ in })) ?? nil
    }

    /// Records on `connection` that `command` could not take the environment lock (`error` names the holder), when
    /// the environment has a ledger. The event carries no lock pid: it must not pass for the holder's.
    static func recordLockedOut(
        on connection: Connection, ledger: Ledger, environment: EnvironmentConfig,
        projectRoot: String, command: String, actor: Actor, provenance: Provenance?,
        error: OrchestrateError
    ) {
        guard ((try? ledger.layout()) ?? .absent) != .absent else { return }
        let run = RunContext(
            id: UUID().uuidString.lowercased(), environment: environment.name, command: command,
            actor: actor,
            git: provenance ?? knownProvenance(projectRoot: projectRoot, environment: environment),
            lockPID: nil)
        try? ledger.record(
            NewEvent(
                run: run, action: action(of: command), outcome: outcome(of: error),
                message: String(error.message.prefix(2000))))
    }

    /// Records on an open session that its run stopped before running anything, with the git commit it was
    /// attempted from; never fails (the caller is reporting the error that stopped it). `action` defaults to the
    /// session's command's.
    static func record(
        _ session: EnvironmentSession, projectRoot: String, action: RunAction? = nil,
        revision: String? = nil, outcome: EventOutcome, message: String
    ) {
        if session.run.git == nil {
            session.run.git = knownProvenance(projectRoot: projectRoot, environment: session.environment)
        }
        session.recordQuietly(
            action: action ?? self.action(of: session.run.command), revision: revision,
            outcome: outcome, message: String(message.prefix(2000)))
    }

    /// Records `error` as the reason an open session's run stopped before running anything.
    static func record(_ error: OrchestrateError, on session: EnvironmentSession, projectRoot: String) {
        record(session, projectRoot: projectRoot, outcome: outcome(of: error), message: error.message)
    }

    /// The action of a command line: `promote` for `promote staging`.
    static func action(of command: String) -> RunAction {
        RunAction(command: command)
    }
}

extension Orchestrator {
    /// Records on `session` that `action` stopped with `error` before running anything (see `RunRefusal`).
    func recordRefusal(
        _ session: EnvironmentSession, action: RunAction, revision: String? = nil, _ error: OrchestrateError
    ) {
        RunRefusal.record(
            session, projectRoot: project.root, action: action, revision: revision ?? error.revision,
            outcome: RunRefusal.outcome(of: error), message: error.message)
    }

    /// Records a refusal with an explicit outcome and message.
    func recordRefusal(
        _ session: EnvironmentSession, action: RunAction, revision: String? = nil, outcome: EventOutcome,
        message: String
    ) {
        RunRefusal.record(
            session, projectRoot: project.root, action: action, revision: revision, outcome: outcome,
            message: message)
    }
}
