import Foundation
import Migrations
import Postgres

extension Orchestrator {
    /// Compares `name`'s live schema with the schema its applied revisions produce, and returns the changes that
    /// would bring it back to what those revisions say.
    ///
    /// What ran is what the ledger recorded: each applied revision's up SQL as stored in its row, in application
    /// order, replayed on a scratch database (a throwaway one on the sandbox, or `scratchURL`, which must be empty and
    /// keeps the replay). Not the files: a file edited after it was applied no longer says what ran, and a revision
    /// applied from another branch may have no file here at all. The replayed schema is cached by the applied set
    /// (see `SchemaCache`) unless `useCache` is false; both sides are read without the ledger's schema and without
    /// other migration tools' tables (`alembic_version`, ...).
    ///
    /// Reads `name`'s database only. When the drift cannot be told (the database or the scratch database cannot be
    /// read, the ledger is damaged, a revision was interrupted, a recorded revision fails on the scratch database),
    /// throws an error of category `.operation` (exit 3): exit 1 is kept for drift.
    public func diff(
        _ name: String, scratchURL: String? = nil, useCache: Bool = true
    ) throws(OrchestrateError) -> DriftReport {
        do {
            return try driftReport(name, scratchURL: scratchURL, useCache: useCache)
        } catch var error {
            if error.category == .policy { error.category = .operation }
            throw error
        }
    }

    /// `status --drift`: each environment's one-line drift summary (replaying on the sandbox when the cache has no
    /// entry for its applied set). What cannot be told is `unknown` with its cause; only an interruption (Ctrl-C)
    /// is thrown.
    public func schemaDrift(_ names: [String]) throws(OrchestrateError) -> [String: SchemaDriftSummary] {
        var result: [String: SchemaDriftSummary] = [:]
        for name in names {
            do {
                result[name] = try diff(name).summary
            } catch {
                if error.category == .interrupted { throw error }
                let cause = error.message.split(separator: "\n").first.map(String.init) ?? error.message
                result[name] = SchemaDriftSummary(environment: name, state: .unknown, cause: cause)
            }
        }
        return result
    }

    private func driftReport(
        _ name: String, scratchURL: String?, useCache: Bool
    ) throws(OrchestrateError) -> DriftReport {
        let environment = try project.environment(name)
        let (applied, live) = try readForDiff(environment)
        let (expected, source) = try replayedSchema(
            applied, command: "diff", what: "as recorded in `\(name)`'s ledger", scratchURL: scratchURL,
            useCache: useCache, preflight: false)
        return DriftReport(
            environment: name, database: EnvironmentDatabase.display(environment), applied: applied.map(\.revision),
            replay: source, changes: SchemaDiffer.changes(from: live, to: expected))
    }

    /// The revisions `environment`'s ledger records as applied (as files holding the recorded up SQL, in application
    /// order) and its live schema, on one read-only connection.
    private func readForDiff(
        _ environment: EnvironmentConfig
    ) throws(OrchestrateError) -> ([MigrationFile], SchemaModel) {
        let name = environment.name
        let (connection, ledger) = try EnvironmentDatabase.openLedgerForReading(
            environment, projectRoot: project.root, applicationName: "orchestrate diff (read)",
            interruptions: interruptions, progress: progress)
        defer { connection.close() }
        var rows: [AppliedRevision] = []
        var versionRow = LedgerHealth.VersionRow.present
        var sql: [String: (up: String, down: String?)] = [:]
        // The ledger and the catalog from one snapshot, as far as the catalog allows: a revision committed between
        // the two reads would otherwise look like drift.
        do throws(PostgresError) {
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        } catch {
            throw .operation("environment `\(name)`: cannot begin a read-only transaction", error)
        }
        defer { _ = try? connection.execute("ROLLBACK") }
        do throws(PostgresError) {
            let layout = try ledger.layout()
            if layout != .absent {
                rows = try ledger.appliedRevisions()
                if case .versionLost(let lost) = layout { versionRow = lost }
            }
        } catch {
            throw ledger.failure(error, environment: environment)
        }
        try refuseDamaged(rows, ledger: ledger, environment: name, versionRow: versionRow)
        try refuseInterrupted(rows, environment: name)
        do throws(PostgresError) {
            sql = try ledger.sql(of: rows.map(\.revision))
        } catch {
            throw ledger.failure(error, environment: environment)
        }
        let files = rows.compactMap { row -> MigrationFile? in
            guard let recorded = sql[row.revision] else { return nil }
            return MigrationFile(
                revision: row.revision, path: "\(name)'s ledger (revision \(row.revision))", parents: row.parents,
                transactional: row.transactional, up: recorded.up, down: nil, upStartLine: 1, downStartLine: nil,
                checksum: row.checksum)
        }
        let live: SchemaModel
        do throws(PostgresError) {
            live = try SchemaModel.read(from: connection, excludedSchemas: [environment.ledgerSchema])
                .removingForeignTables(try ForeignLedgers.read(on: connection))
        } catch {
            throw .operation("environment `\(name)`: cannot read its catalog", error)
        }
        return (files, live)
    }

    /// The schema `files` leave when run in order on an empty database: from the cache when it holds an entry for
    /// them (and `useCache`), else replayed on a scratch database (a throwaway one on the sandbox, or `scratchURL`)
    /// through the executor `upgrade` uses, and cached. `what` says where the SQL comes from, for messages;
    /// `preflight` refuses files that could not be applied (for files of `migrations/`, not for SQL that already ran).
    func replayedSchema(
        _ files: [MigrationFile], command: String, what: String, scratchURL: String?, useCache: Bool,
        preflight: Bool
    ) throws(OrchestrateError) -> (SchemaModel, ReplaySource) {
        let cache = SchemaCache(projectRoot: project.root)
        let key = SchemaCache.key(of: files)
        let display = SchemaCache.displayPath(key: key)
        if useCache {
            switch cache.load(key: key) {
            case .hit(let model):
                return (model, ReplaySource(cached: true, cacheFile: display, scratch: nil, revisions: files.count))
            case .miss:
                break
            case .unusable(let why):
                progress(.warning("\(command): ignored the cache entry \(display): \(why); replaying and rewriting it"))
            }
        }
        if preflight, let refusal = Preflight.refusal(Preflight.problems(applying: files)) { throw refusal }
        let (model, scratch, ledgerSchema) = try replayOnScratch(
            files, command: command, what: what, scratchURL: scratchURL, quiet: true,
            consequence: "the schema it should produce is unknown")
        let failure = cache.store(model, key: key, revisions: files.map(\.revision))
        if let failure { progress(.warning("\(command): cannot write the cache entry \(display): \(failure)")) }
        return (
            model,
            ReplaySource(
                cached: false, cacheFile: failure == nil ? display : nil, scratch: scratch.display,
                leftBehind: scratch.created
                    ? nil
                    : "the replayed revisions and a ledger (schema \(ledgerSchema)); give a new, empty database to replay again",
                revisions: files.count)
        )
    }
}

extension Orchestrator {
    /// `files` applied in order on a scratch database (a throwaway one on the sandbox, or `scratchURL`), and the schema
    /// they leave there: the replay of `diff`, `new --from-…` and `baseline`. `what` names the revisions in messages
    /// (`applied on staging`); `quiet` shows one notice instead of a line per revision; `consequence` says what a
    /// revision that fails there leaves unknown.
    func replayOnScratch(
        _ files: [MigrationFile], command: String, what: String?, scratchURL: String?, quiet: Bool,
        consequence: String
    ) throws(OrchestrateError) -> (model: SchemaModel, scratch: ScratchDatabase, ledgerSchema: String) {
        let scratch = try ScratchDatabase.open(
            for: command, url: scratchURL, projectRoot: project.root, progress: progress)
        defer { scratch.release(progress: progress) }
        let outer = progress
        let runner =
            quiet
            ? Orchestrator(
                project: project, actor: actor, interruptions: interruptions,
                progress: { event in
                    switch event {
                    case .revisionStarted, .revisionFinished, .transactionCommitted: return
                    default: outer(event)
                    }
                }) : self
        let session = try runner.openScratchSession(scratch, name: command, option: "--scratch-url")
        defer { session.close() }
        if quiet {
            progress(
                .notice(
                    "\(command): replaying \(files.count) revision(s)\(what.map { " " + $0 } ?? "") on \(scratch.display)"
                ))
        }
        let executor = RevisionExecutor(session: session, action: RunAction(command: command))
        for file in files {
            do {
                try executor.apply(file, promotedFrom: nil)
            } catch {
                if error.category == .interrupted { throw error }
                throw .operation(
                    "\(command): revision \(file.revision)\(what.map { " (\($0))" } ?? "") fails on the scratch database \(scratch.display), so \(consequence): \(error.message)",
                    hint: scratch.created
                        ? nil : "the scratch database keeps what ran before it; give a new, empty --scratch-url")
            }
        }
        let work = try session.work()
        do throws(PostgresError) {
            let model = try SchemaModel.read(from: work, excludedSchemas: [session.environment.ledgerSchema])
            return (model, scratch, session.environment.ledgerSchema)
        } catch {
            throw .operation("\(command): cannot read the catalog of \(scratch.display)", error)
        }
    }
}

extension SchemaModel {
    /// The model without the tables of other migration tools (`alembic_version`, `flyway_schema_history`, ...) and
    /// what belongs to them (their indexes, sequences, triggers, policies): they say which migrations ran, not what the
    /// schema is.
    func removingForeignTables(_ foreign: [ForeignLedger]) -> SchemaModel {
        guard !foreign.isEmpty else { return self }
        var copy = self
        for ledger in foreign {
            let table = ledger.table.contains(".") ? ledger.table : "public.\(ledger.table)"
            copy.tables[table] = nil
            copy.indexes = copy.indexes.filter { $0.value.table != table }
            copy.sequences = copy.sequences.filter { $0.value.ownedBy.map { !$0.hasPrefix(table + ".") } ?? true }
            copy.triggers = copy.triggers.filter { $0.value.qualifiedTable != table }
            copy.policies = copy.policies.filter { $0.value.qualifiedTable != table }
        }
        return copy
    }
}
