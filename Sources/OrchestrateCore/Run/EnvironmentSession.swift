import Foundation
import Postgres

/// An open, locked environment for one writing run: the lock connection with the ledger, and (once there is work) the
/// work connection.
///
/// Opening takes the environment lock before touching the ledger (so two first runs cannot both create it), checks
/// for a connection pooler in transaction mode, creates or upgrades the ledger, and refuses a frozen environment, all
/// on the lock connection. The work connection, which runs the revisions, is opened by the first `work()`: a run with
/// nothing to do starts one server process, not two. `close()` (or deinit) releases the lock and closes both.
final class EnvironmentSession {
    let environment: EnvironmentConfig
    let lockConnection: Connection
    let lock: EnvironmentLock
    /// The ledger on the lock connection: reads, freezes and events. Revision rows are written on the work
    /// connection, inside each revision's transaction, with the SQL this ledger builds.
    let ledger: Ledger
    var run: RunContext
    let progress: ProgressHandler
    private let conninfo: String
    /// The work connection, once `work()` opened it.
    private(set) var openedWork: Connection?
    /// The fleet worker's slot the lock connection came from and goes back to (nil outside a fleet run).
    private var slot: ConnectionSlot?
    /// The digest of the ledger's rows as the session found them under the lock (`Ledger.Opening`); nil when the
    /// ledger was just created or upgraded. Runs with the same digest read the same rows (see `RunMemo`).
    private(set) var digest: String?
    private var closed = false
    /// Where Ctrl-C and SIGTERM come from (the command line's `.process`, or `.never`).
    let interruptions: Interruptions
    /// The work connection's registration with `interruptions`.
    private var cancelToken: Int?
    /// The lock connection's registration with `Interruption`: a ledger read or write waiting for a table lock
    /// stops on Ctrl-C too.
    private let lockCancelToken: Int?

    private init(
        environment: EnvironmentConfig, lockConnection: Connection, lockCancelToken: Int?, conninfo: String,
        lock: EnvironmentLock, ledger: Ledger, run: RunContext, interruptions: Interruptions,
        progress: @escaping ProgressHandler
    ) {
        self.interruptions = interruptions
        self.environment = environment
        self.lockConnection = lockConnection
        self.lockCancelToken = lockCancelToken
        self.conninfo = conninfo
        self.lock = lock
        self.ledger = ledger
        self.run = run
        self.progress = progress
    }

    /// Connects to `environment`, takes its lock and prepares the ledger; `command` names the run everywhere.
    static func open(
        _ environment: EnvironmentConfig, projectRoot: String, command: String, actor: Actor,
        provenance: Provenance?, checkFreeze: Bool = true, interruptions: Interruptions,
        slot: ConnectionSlot? = nil, progress: @escaping ProgressHandler
    ) throws(OrchestrateError) -> EnvironmentSession {
        let conninfo = try EnvironmentDatabase.conninfo(for: environment, projectRoot: projectRoot, progress: progress)
        // A fleet worker's connection to the same database, from its previous target: its session was discarded, so
        // it gets this target's settings (search_path, session_settings, its name) as a new one would.
        let reused = slot?.take(conninfo)
        let lockConnection: Connection
        var settings = SessionSettings.lockConnection + [SessionSettings.ledger(environment)]
        if let reused {
            lockConnection = reused
            try EnvironmentDatabase.applySessionSettings(environment, on: reused)
            if let name = try? reused.quoteLiteral("orchestrate \(command)") {
                settings.append("SET application_name = \(name)")
            }
        } else {
            lockConnection = try EnvironmentDatabase.connect(
                environment, conninfo: conninfo, applicationName: "orchestrate \(command)",
                interruptions: interruptions, progress: progress)
        }
        // A client host that vanishes without closing its socket would otherwise keep the lock for hours. The server
        // process's id (for the pooler check) and a first try of the lock travel in the same round trip.
        let first =
            (try? lockConnection.execute(
                (settings + ["SELECT pg_backend_pid(), \(EnvironmentLock.tryExpression(environment))"])
                    .joined(separator: "; ")))?.rows.first
        let settingsPID = first?.first.flatMap { $0.flatMap { Int32($0) } }
        let firstTry = first.flatMap { $0.count > 1 ? $0[1] : nil }.map { $0 == "t" }
        let lockCancelToken = interruptions.register(lockConnection)
        let ledger: Ledger
        do {
            ledger = try Ledger(connection: lockConnection, schema: environment.ledgerSchema)
        } catch {
            interruptions.unregister(lockCancelToken)
            lockConnection.close()
            throw .operation("environment `\(environment.name)`", error)
        }
        let lock: EnvironmentLock
        do {
            lock = try EnvironmentLock.acquire(
                on: lockConnection, environment: environment,
                ledgerExists: { ((try? ledger.installedVersion()) ?? nil) != nil }, firstTry: firstTry,
                interruptions: interruptions, progress: progress)
        } catch {
            interruptions.unregister(lockCancelToken)
            RunRefusal.recordLockedOut(
                on: lockConnection, ledger: ledger, environment: environment, projectRoot: projectRoot,
                command: command, actor: actor, provenance: provenance, error: error)
            lockConnection.close()
            throw error
        }
        let run = RunContext(
            id: UUID().uuidString.lowercased(), environment: environment.name, command: command,
            actor: actor, git: provenance, lockPID: lockConnection.backendPID)
        let session = EnvironmentSession(
            environment: environment, lockConnection: lockConnection,
            lockCancelToken: lockCancelToken, conninfo: conninfo, lock: lock, ledger: ledger,
            run: run, interruptions: interruptions, progress: progress)
        session.slot = slot
        do throws(OrchestrateError) {
            // A ledger at the current layout is read in one round trip (the pooler check's second look, the digest,
            // the freeze); one that is absent, older or damaged is created, upgraded or refused by `ensure`.
            let opening: Ledger.Opening?
            do throws(PostgresError) { opening = try ledger.opening() } catch {
                throw ledger.failure(error, environment: environment)
            }
            // A kept connection passed the pooler check when it was opened: the same server process since.
            if reused == nil {
                try detectPooler(
                    lockConnection, environment: environment, firstPID: settingsPID, secondPID: opening?.backendPID)
            }
            // A fleet target's run never opens a work connection (see `work()`), so none can be left over.
            if !environment.singleConnection {
                OrphanedWork.end(
                    on: lockConnection, environment: environment, interruptions: interruptions, progress: progress)
            }
            if opening == nil {
                do throws(OrchestrateError) { try ledger.ensure(for: environment) } catch {
                    RunRefusal.record(error, on: session, projectRoot: projectRoot)
                    throw error
                }
            }
            session.digest = opening?.digest
            if checkFreeze {
                let freeze: Freeze?
                if let opening {
                    freeze = opening.freeze
                } else {
                    do throws(PostgresError) { freeze = try ledger.freeze() } catch {
                        throw ledger.failure(error, environment: environment)
                    }
                }
                if let freeze {
                    RunRefusal.record(
                        session, projectRoot: projectRoot, outcome: .refused,
                        message: "environment is frozen: \(freeze.reason)")
                    throw .locked(
                        "environment `\(environment.name)` is \(freeze.summary)",
                        hint: "`orchestrate unlock \(environment.name)` thaws it, once the reason no longer holds")
                }
            }
        } catch {
            session.close()
            throw error
        }
        return session
    }

    /// The work connection, opened on first use: named after the lock holder (so that a later run can end it if this
    /// process dies), registered for cancellation on a signal, with the run's timeouts set.
    func work() throws(OrchestrateError) -> Connection {
        if let openedWork { return openedWork }
        if environment.singleConnection {
            // A fleet target runs on its lock connection: one connection per running target (DESIGN §7). Events
            // are then written between revisions, outside their transactions, as on the lock connection anyway.
            do throws(PostgresError) {
                try lockConnection.execute(
                    SessionSettings.work(environment, serverVersion: lockConnection.serverVersionNumber)
                        .joined(separator: "; "))
            } catch {
                throw .operation("\(environment.displayName): cannot set timeouts", error)
            }
            openedWork = lockConnection
            return lockConnection
        }
        let work = try EnvironmentDatabase.connect(
            environment, conninfo: conninfo,
            applicationName: OrphanedWork.applicationName(command: run.command, lockPID: lockConnection.backendPID),
            retries: 0, interruptions: interruptions, progress: progress)
        do throws(PostgresError) {
            // One round trip for all settings: it matters on a remote database.
            try work.execute(
                SessionSettings.work(environment, serverVersion: work.serverVersionNumber).joined(separator: "; "))
        } catch {
            work.close()
            throw .operation("environment `\(environment.name)`: cannot set timeouts", error)
        }
        openedWork = work
        cancelToken = interruptions.register(work)
        return work
    }

    /// A pooler in transaction mode hands each statement to any server connection, which breaks session locks.
    ///
    /// `firstPID` and `secondPID` are the server process's ids from two earlier round trips of the caller's, when it
    /// asked; otherwise this asks.
    static func detectPooler(
        _ connection: Connection, environment: EnvironmentConfig, firstPID: Int32? = nil, secondPID: Int32? = nil
    ) throws(OrchestrateError) {
        let reported: Int32
        do {
            func pid() throws -> Int32? {
                try connection.query("SELECT pg_backend_pid()").rows.first?.first.flatMap { $0.flatMap { Int32($0) } }
            }
            guard let a = try firstPID ?? pid(), let b = try secondPID ?? pid() else { return }
            guard a == b else {
                throw OrchestrateError.usage(
                    "environment `\(environment.name)`: the connection goes through a pooler in transaction mode (the server process changed between two statements), which breaks the environment lock",
                    hint: poolerHint(environment))
            }
            reported = a
        } catch let error as OrchestrateError {
            throw error
        } catch let error as PostgresError {
            throw .operation("environment `\(environment.name)`", error)
        } catch {
            throw .operation("environment `\(environment.name)`: \(error)")
        }
        if reported != connection.backendPID {
            throw .usage(
                "environment `\(environment.name)`: the connection goes through a pooler (the server process \(reported) is not the one libpq was told about), which breaks the environment lock",
                hint: poolerHint(environment))
        }
    }

    /// What to use instead of a pooler: the direct host (for Neon, the host without `-pooler`), or a session-mode pooler.
    static func poolerHint(_ environment: EnvironmentConfig) -> String {
        let direct = "point \(environment.databaseURLOrigin) at the database directly, or at a pooler in session mode"
        return looksLikePooledHost(environment.databaseURL)
            ? direct
                + " (the host's `-pooler` marks a pooled endpoint, as Neon's: the same host without `-pooler` is the direct one)"
            : direct
    }

    /// Whether the connection string names a pooled endpoint by the common convention (`…-pooler.…`, port 6543).
    static func looksLikePooledHost(_ url: String) -> Bool {
        let lowered = url.lowercased()
        return lowered.contains("-pooler.") || lowered.contains("-pooler:") || lowered.contains("-pooler/")
            || lowered.contains(":6543/") || lowered.contains("port=6543")
    }

    /// Appends an event on the lock connection (autocommit, independent of any open transaction on the work
    /// connection, and alive even when the work connection was killed), or on the work connection when the lock
    /// connection is gone and the work connection is idle. Failures to record are swallowed: the caller is already
    /// reporting an error.
    func recordQuietly(
        action: RunAction, revision: String? = nil, outcome: EventOutcome, message: String? = nil,
        durationMilliseconds: Int? = nil
    ) {
        let event = NewEvent(
            run: run, action: action, revision: revision, outcome: outcome, message: message,
            durationMilliseconds: durationMilliseconds)
        if lockConnection.isOpen, (try? ledger.record(event)) != nil { return }
        // After Ctrl-C the statements of every registered connection are cancelled; a cancel that reaches the idle
        // lock connection late cancels the next statement there instead, which may be this insert: try it once more.
        if lockConnection.isOpen, interruptions.signal != nil, (try? ledger.record(event)) != nil { return }
        if !lockConnection.isOpen, let work = openedWork, work.isOpen, work.transactionStatus == .idle,
            let fallback = try? Ledger(connection: work, schema: ledger.schema)
        {
            try? fallback.record(event)
        }
    }

    /// Appends an event, failing loudly.
    func record(
        action: RunAction, revision: String? = nil, outcome: EventOutcome, message: String? = nil,
        durationMilliseconds: Int? = nil
    ) throws(OrchestrateError) {
        let event = NewEvent(
            run: run, action: action, revision: revision, outcome: outcome, message: message,
            durationMilliseconds: durationMilliseconds)
        do throws(PostgresError) {
            try ledger.record(event)
        } catch {
            throw .operation("environment `\(environment.name)`: cannot write the event log", error)
        }
    }

    /// Releases the lock and closes both connections.
    func close() {
        guard !closed else { return }
        closed = true
        interruptions.unregister(cancelToken)
        interruptions.unregister(lockCancelToken)
        if openedWork !== lockConnection { openedWork?.close() }
        // A fleet worker keeps the connection for its next target in the same database: only an idle one whose
        // session is discarded (settings, role, temporary tables, and every advisory lock: the environment lock with
        // them), never after a signal or a failure to discard.
        if let slot, slot.mayReuse(environment.databaseURL), openedWork == nil || openedWork === lockConnection,
            interruptions.signal == nil, lockConnection.isOpen, lockConnection.transactionStatus == .idle,
            (try? lockConnection.execute("DISCARD ALL")) != nil
        {
            lock.releasedByDiscard()
            slot.keep(lockConnection, conninfo: conninfo)
            return
        }
        lock.release()
        lockConnection.close()
    }

    deinit { close() }
}
