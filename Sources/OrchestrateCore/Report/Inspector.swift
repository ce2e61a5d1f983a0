import Foundation
import Git
import Migrations
import Postgres

/// The reading commands: status, audit and doctor. They never write to an environment's database.
public struct Inspector: Sendable {
    /// The project.
    public let project: Project
    /// Where notices go (starting the sandbox, for instance).
    public let progress: ProgressHandler

    /// Where Ctrl-C and SIGTERM come from: the command line passes `.process`; the default never interrupts.
    public let interruptions: Interruptions

    /// Makes an inspector over `project`.
    public init(project: Project, interruptions: Interruptions = .never, progress: @escaping ProgressHandler) {
        self.project = project
        self.interruptions = interruptions
        self.progress = progress
    }

    // MARK: - status

    /// The status of `names` (all environments when empty), in pipeline order.
    public func status(_ names: [String]) throws(OrchestrateError) -> [EnvironmentStatus] {
        let selected = names.isEmpty ? project.environmentNames : names
        for name in selected where project.environments[name] == nil && project.brokenEnvironments[name] == nil {
            _ = try project.environment(name)
        }
        let migrations = try project.loadMigrations()
        // Later stages need their source's applied set for "pending", so sources are read too.
        var needed = selected
        for name in selected {
            if let source = project.pipeline?.source(of: name), !needed.contains(source) { needed.append(source) }
        }
        let snapshots = readSnapshots(needed)
        let git = GitView(projectRoot: project.root)
        return selected.map { name in
            let sourceName = project.pipeline?.source(of: name)
            let placeKnown = !project.stagesOfUnknownPlace.contains(name)
            guard let environment = project.environments[name] else {
                return .unreachable(
                    nil, name: name, promotesFrom: sourceName, placeKnown: placeKnown,
                    error: project.brokenEnvironments[name]?.description ?? "unknown")
            }
            guard let snapshot = snapshots[name], case .success(let state) = snapshot else {
                if case .failure(let error) = snapshots[name] {
                    return .unreachable(
                        environment, name: name, promotesFrom: sourceName, placeKnown: true,
                        error: error.description)
                }
                return .unreachable(
                    environment, name: name, promotesFrom: sourceName, placeKnown: true, error: "not inspected")
            }
            // A later stage's pending list comes from its source: when the source cannot be read, it is unknown.
            var source: Result<Snapshot, SourceUnknown>?
            if let sourceName {
                switch snapshots[sourceName] {
                case .success(let found) where !found.damage.isEmpty:
                    source = .failure(
                        SourceUnknown(reason: "its ledger is damaged (`orchestrate status \(sourceName)`)"))
                case .success(let found): source = .success(found)
                case .failure(let error): source = .failure(SourceUnknown(reason: error.description))
                case nil:
                    let why = project.brokenEnvironments[sourceName]?.description ?? "it was not read"
                    source = .failure(SourceUnknown(reason: why))
                }
            }
            return describe(
                environment, state, source: source, sourceName: sourceName, migrations: migrations, git: git)
        }
    }

    /// Why a source stage's state is unknown.
    struct SourceUnknown: Error {
        var reason: String
    }

    /// What was read from one database.
    struct Snapshot: Sendable {
        var serverVersion: String
        var ledgerVersion: Int?
        var applied: [AppliedRevision]
        var freeze: Freeze?
        var lock: LockHolder?
        /// What is damaged in the ledger (rows as read, before any interpretation).
        var damage: [LedgerDamage] = []
        /// Another tool managing the database while the ledger records nothing.
        var foreign: ForeignLedger? = nil
    }

    /// Reads every environment's database concurrently (a remote database costs one round trip of latency each).
    func readSnapshots(_ names: [String]) -> [String: Result<Snapshot, OrchestrateError>] {
        let environments = names.compactMap { project.environments[$0] }
        let results = ResultBox<Result<Snapshot, OrchestrateError>>(count: environments.count)
        DispatchQueue.concurrentPerform(iterations: environments.count) { index in
            results.set(index, Result { () throws(OrchestrateError) in try readSnapshot(environments[index]) })
        }
        var output: [String: Result<Snapshot, OrchestrateError>] = [:]
        for (index, environment) in environments.enumerated() { output[environment.name] = results.get(index) }
        return output
    }

    private func readSnapshot(_ environment: EnvironmentConfig) throws(OrchestrateError) -> Snapshot {
        let (connection, ledger) = try EnvironmentDatabase.openLedgerForReading(
            environment, projectRoot: project.root, applicationName: "orchestrate status", retries: 0,
            interruptions: interruptions, progress: progress)
        defer { connection.close() }
        do throws(PostgresError) {
            let layout = try ledger.layout()
            let server = try connection.query("SHOW server_version").rows.first?.first ?? nil
            let holder = try EnvironmentLock.findHolder(
                on: connection, key: EnvironmentLock.key(schema: environment.ledgerSchema),
                ledgerSchema: layout == .absent ? nil : environment.ledgerSchema)
            switch layout {
            case .absent:
                return Snapshot(
                    serverVersion: server ?? "?", ledgerVersion: nil, applied: [], freeze: nil, lock: holder,
                    foreign: try ForeignLedgers.unadopted(on: connection, recorded: 0))
            case .installed(let version):
                let rows = try ledger.appliedRevisions()
                return Snapshot(
                    serverVersion: server ?? "?", ledgerVersion: version, applied: rows,
                    freeze: try ledger.freeze(), lock: holder,
                    damage: health(rows, versionRow: .present, schema: environment.ledgerSchema),
                    foreign: try ForeignLedgers.unadopted(on: connection, recorded: rows.count))
            case .versionLost(let versionRow):
                let rows = try ledger.appliedRevisions()
                return Snapshot(
                    serverVersion: server ?? "?", ledgerVersion: nil, applied: rows,
                    freeze: try? ledger.freeze(), lock: holder,
                    damage: health(rows, versionRow: versionRow, schema: environment.ledgerSchema))
            }
        } catch {
            throw ledger.failure(error, environment: environment)
        }
    }

    /// The ledger's damage; the files are read only when there is some, for the exact SQL of the way out.
    private func health(
        _ rows: [AppliedRevision], versionRow: LedgerHealth.VersionRow, schema: String
    ) -> [LedgerDamage] {
        guard !LedgerHealth.damage(rows: rows, versionRow: versionRow, schema: schema).isEmpty else { return [] }
        let fileParents = (try? project.loadMigrations())?.files.mapValues(\.parents) ?? [:]
        return LedgerHealth.damage(rows: rows, versionRow: versionRow, schema: schema, fileParents: fileParents)
    }

    private func describe(
        _ environment: EnvironmentConfig, _ state: Snapshot, source: Result<Snapshot, SourceUnknown>?,
        sourceName: String?, migrations: MigrationSet, git: GitView
    ) -> EnvironmentStatus {
        let appliedRows = state.applied.filter { $0.state == .applied }
        let appliedIDs = Set(appliedRows.map(\.revision))
        let allIDs = Set(state.applied.map(\.revision))
        // Where it stands: the fully applied revisions none of whose children are fully applied. An interrupted
        // revision is shown next to that position, not instead of it.
        let heads = Inspector.heads(of: state.applied)

        var pending: [String] = []
        var ahead: [String] = []
        var multipleHeads: [String] = []
        var sourceError: String?
        if sourceName != nil {
            switch source {
            case .success(let source):
                let sourceIDs = Set(source.applied.filter { $0.state == .applied }.map(\.revision))
                let missing = sourceIDs.subtracting(allIDs)
                pending = migrations.graph.topologicalOrder.filter { missing.contains($0) }
                pending += missing.subtracting(pending).sorted()
                ahead = appliedIDs.subtracting(sourceIDs).sorted()
            case .failure(let unknown):
                sourceError = unknown.reason
            case nil:
                sourceError = "it was not read"
            }
        } else {
            pending = migrations.graph.topologicalOrder.filter { !allIDs.contains($0) }
            if migrations.graph.heads.count > 1 { multipleHeads = migrations.graph.heads }
        }
        let last = appliedRows.max(by: { ($0.appliedAt, $0.revision) < ($1.appliedAt, $1.revision) }).map {
            EnvironmentStatus.LastChange(
                revision: $0.revision, appliedAt: $0.appliedAt,
                by: ($0.osUser.map { $0 + ($0.isEmpty ? "" : "") } ?? $0.databaseUser)
                    + ($0.host.map { "@" + $0 } ?? ""),
                gitCommit: $0.gitCommit, promotedFrom: $0.promotedFrom)
        }
        var drift: [EnvironmentStatus.Drift] = []
        var orphans: [EnvironmentStatus.Orphan] = []
        for row in state.applied {
            if let file = migrations.files[row.revision] {
                if file.checksum != row.checksum {
                    drift.append(
                        .init(
                            revision: row.revision, path: file.path, recordedChecksum: row.checksum,
                            fileChecksum: file.checksum,
                            commits: git.commitsChanging(path: file.path, since: row.gitCommit)))
                }
            } else {
                let known = git.knows(row.gitCommit)
                orphans.append(
                    .init(
                        revision: row.revision, gitCommit: row.gitCommit,
                        branches: known ? git.branchesContaining(row.gitCommit) : [], commitKnown: known))
            }
        }
        let interrupted = state.applied.filter { $0.state != .applied }.map {
            EnvironmentStatus.Interrupted(
                revision: $0.revision,
                state: $0.state == .running ? "interrupted while applying" : "interrupted while reverting",
                statementsDone: $0.statementsDone ?? 0, statementsTotal: $0.statementsTotal ?? 0,
                runInProgress: state.lock != nil)
        }
        return EnvironmentStatus(
            name: environment.name, database: EnvironmentDatabase.display(environment),
            promotesFrom: environment.promotesFrom,
            isProtected: environment.isProtected, branch: environment.branch, reachable: true, error: nil,
            serverVersion: state.serverVersion, ledgerVersion: state.ledgerVersion, appliedCount: appliedRows.count,
            headsApplied: heads, pending: state.damage.isEmpty ? pending : [], aheadOfSource: ahead, lastChange: last,
            lock: state.lock, freeze: state.freeze,
            drift: drift, orphans: orphans, interrupted: interrupted, multipleHeads: multipleHeads,
            sourceError: sourceError,
            pendingKnown: sourceError == nil && state.damage.isEmpty, damage: state.damage,
            baselinedCount: appliedRows.filter(\.baselined).count,
            foreignLedger: state.foreign.map { $0.notice(environment: environment.name) })
    }

    /// The fully applied revisions none of whose children are fully applied, sorted: where an environment stands.
    /// Rows of interrupted revisions do not hide their parents.
    static func heads(of rows: [AppliedRevision]) -> [String] {
        let applied = rows.filter { $0.state == .applied }
        let appliedIDs = Set(applied.map(\.revision))
        var hasAppliedChild = Set<String>()
        for row in applied {
            for parent in row.parents where appliedIDs.contains(parent) { hasAppliedChild.insert(parent) }
        }
        return applied.map(\.revision).filter { !hasAppliedChild.contains($0) }.sorted()
    }

    // MARK: - audit

    /// The newest `limit` events of `name`, newest first.
    public func audit(_ name: String, limit: Int) throws(OrchestrateError) -> [LedgerEvent] {
        let environment = try project.environment(name)
        let (connection, ledger) = try EnvironmentDatabase.openLedgerForReading(
            environment, projectRoot: project.root, applicationName: "orchestrate audit", retries: 0,
            interruptions: interruptions, progress: progress)
        defer { connection.close() }
        do throws(PostgresError) {
            // A ledger whose version row was lost still has its event log: the way to mend it.
            guard try ledger.layout() != .absent else { return [] }
            return try ledger.events(limit: limit)
        } catch {
            throw ledger.failure(error, environment: environment, doing: "cannot read the event log")
        }
    }
}

/// A fixed-size, lock-protected array for results computed concurrently.
final class ResultBox<T: Sendable>: @unchecked Sendable {
    private var values: [T?]
    private let lock = NSLock()

    init(count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: T) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }

    func get(_ index: Int) -> T? {
        lock.lock()
        defer { lock.unlock() }
        return values[index]
    }
}
