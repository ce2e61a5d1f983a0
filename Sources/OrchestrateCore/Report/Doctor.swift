import Foundation
import Git
import Migrations
import Postgres

/// One line of `doctor`.
public struct DoctorCheck: Sendable, Codable {
    /// How a check came out.
    public enum Outcome: String, Sendable, Codable { case ok, warning, failed }
    /// What was checked, e.g. `environments/staging.toml` or `database staging`.
    public var subject: String
    public var outcome: Outcome
    /// What was found, or what is wrong and how to fix it.
    public var detail: String
}

/// `orchestrate doctor`: the setup checked line by line, the way a verify-setup script would.
public enum Doctor {
    /// Runs every check; a failed one never stops the others.
    public static func run(
        projectRoot: String, processEnvironment: [String: String], interruptions: Interruptions = .never,
        progress: @escaping ProgressHandler
    ) -> [DoctorCheck] {
        var checks: [DoctorCheck] = [DoctorCheck(subject: "project", outcome: .ok, detail: projectRoot)]
        let project: Project
        do {
            project = try Project.load(root: projectRoot, processEnvironment: processEnvironment)
        } catch {
            checks.append(DoctorCheck(subject: ".env / environments/", outcome: .failed, detail: error.description))
            return checks
        }
        if let file = project.dotEnvFile {
            checks.append(
                DoctorCheck(
                    subject: ".env", outcome: .ok,
                    detail:
                        "read \(file) (\(project.variables.dotEnv.count) variable(s)); the process environment wins over it"
                ))
        } else {
            checks.append(
                DoctorCheck(
                    subject: ".env", outcome: .ok,
                    detail:
                        "none found (looked in \(project.dotEnvSearched.joined(separator: ", "))); variables come from the process environment only"
                ))
        }
        if project.environments.isEmpty && project.brokenEnvironments.isEmpty {
            checks.append(
                DoctorCheck(
                    subject: "environments/", outcome: .failed, detail: "no *.toml file: create environments/dev.toml"))
        }
        for name in project.environmentNames {
            if let error = project.brokenEnvironments[name] {
                checks.append(
                    DoctorCheck(subject: "environments/\(name).toml", outcome: .failed, detail: error.description))
            } else if let environment = project.environments[name] {
                let stage = environment.promotesFrom.map { "promotes from \($0)" } ?? "first stage"
                let database =
                    environment.fleet.map(fleetDescription) ?? "database \(EnvironmentDatabase.display(environment))"
                checks.append(DoctorCheck(subject: environment.path, outcome: .ok, detail: "\(stage); \(database)"))
            }
        }
        if let error = project.pipelineError {
            checks.append(DoctorCheck(subject: "pipeline", outcome: .failed, detail: error.description))
        } else if let pipeline = project.pipeline {
            let chain = pipeline.order.map { name in pipeline.source(of: name).map { "\($0) → \(name)" } ?? name }
            checks.append(DoctorCheck(subject: "pipeline", outcome: .ok, detail: chain.joined(separator: ", ")))
        }
        var fileParents: [String: [String]] = [:]
        do {
            let migrations = try project.loadMigrations()
            fileParents = migrations.files.mapValues(\.parents)
            let heads = migrations.graph.heads
            if heads.count > 1 {
                checks.append(
                    DoctorCheck(
                        subject: "migrations/", outcome: .warning,
                        detail:
                            "\(migrations.files.count) revisions, \(heads.count) heads (\(heads.joined(separator: ", "))): run `orchestrate merge`"
                    ))
            } else {
                checks.append(
                    DoctorCheck(
                        subject: "migrations/", outcome: .ok,
                        detail: "\(migrations.files.count) revisions, head \(heads.first ?? "none")"))
            }
        } catch {
            checks.append(DoctorCheck(subject: "migrations/", outcome: .failed, detail: error.description))
        }
        do {
            let repository = try Repository.discover(from: projectRoot)
            let head = try repository.head()
            let where_ = head.branch.map { "on branch \($0)" } ?? "detached HEAD"
            let commit = head.commit.map { "at \($0.short)" } ?? "with no commit yet"
            checks.append(
                DoctorCheck(
                    subject: "git", outcome: .ok,
                    detail:
                        "repository \(repository.workdir ?? repository.gitDirectory), \(where_) \(commit)\(repository.isShallow ? " (shallow clone)" : "")"
                ))
        } catch {
            checks.append(
                DoctorCheck(
                    subject: "git", outcome: error.code == .notARepository ? .warning : .failed,
                    detail: error.description))
        }
        let environments = project.environmentNames.compactMap { project.environments[$0] }
        let results = ResultBox<[DoctorCheck]>(count: environments.count)
        let parents = fileParents
        DispatchQueue.concurrentPerform(iterations: environments.count) { index in
            let environment = environments[index]
            results.set(
                index,
                environment.isFleet
                    ? checkFleet(
                        environment, project: project, fileParents: parents, interruptions: interruptions,
                        progress: progress)
                    : checkDatabase(
                        environment, projectRoot: projectRoot, fileParents: parents,
                        interruptions: interruptions, progress: progress))
        }
        for index in environments.indices { checks += results.get(index) ?? [] }
        return checks
    }

    private static func checkDatabase(
        _ environment: EnvironmentConfig, projectRoot: String,
        fileParents: [String: [String]], interruptions: Interruptions,
        progress: @escaping ProgressHandler
    ) -> [DoctorCheck] {
        let subject = "database \(environment.name)"
        do {
            let conninfo = try EnvironmentDatabase.conninfo(
                for: environment, projectRoot: projectRoot, progress: progress)
            let connection = try EnvironmentDatabase.connectForReading(
                environment, conninfo: conninfo,
                applicationName: "orchestrate doctor", retries: 0,
                interruptions: interruptions, progress: progress)
            defer { connection.close() }
            let version = (try? connection.query("SHOW server_version").rows.first?.first) ?? nil
            var checks = [
                DoctorCheck(
                    subject: subject, outcome: .ok,
                    detail:
                        "reachable as \(connection.user) on \(EnvironmentDatabase.display(environment)), PostgreSQL \(version ?? "?")"
                )
            ]
            // The same pooler detection as a run: a transaction-mode pooler passes a read, then breaks the first write.
            do {
                try EnvironmentSession.detectPooler(connection, environment: environment)
                if EnvironmentSession.looksLikePooledHost(environment.databaseURL) {
                    checks.append(
                        DoctorCheck(
                            subject: subject, outcome: .warning,
                            detail: "the host looks like a pooled endpoint; runs need a session lock: "
                                + EnvironmentSession.poolerHint(environment)))
                }
            } catch {
                checks.append(DoctorCheck(subject: subject, outcome: .failed, detail: error.description))
            }
            if connection.serverVersionNumber < 120_000 {
                checks.append(
                    DoctorCheck(subject: subject, outcome: .warning, detail: "PostgreSQL older than 12 is not tested"))
            }
            let ledger = try Ledger(connection: connection, schema: environment.ledgerSchema)
            do throws(PostgresError) {
                checks += try checkLedger(ledger, environment: environment, fileParents: fileParents)
            } catch {
                checks.append(
                    DoctorCheck(
                        subject: "ledger \(environment.name)", outcome: .failed,
                        detail: ledger.failure(error, environment: environment).description))
            }
            return checks
        } catch let error as OrchestrateError {
            return [DoctorCheck(subject: subject, outcome: .failed, detail: error.description)]
        } catch let error as PostgresError {
            return [DoctorCheck(subject: subject, outcome: .failed, detail: error.description)]
        } catch {
            return [DoctorCheck(subject: subject, outcome: .failed, detail: "\(error)")]
        }
    }

    /// The ledger's lines: its version, what it records, a freeze, then one failed line per damage with its way out.
    private static func checkLedger(
        _ ledger: Ledger, environment: EnvironmentConfig,
        fileParents: [String: [String]]
    ) throws(PostgresError) -> [DoctorCheck] {
        let subject = "ledger \(environment.name)"
        let versionRow: LedgerHealth.VersionRow
        var installedVersion: Int?
        var detail: String
        var outcome = DoctorCheck.Outcome.ok
        switch try ledger.layout() {
        case .absent:
            if let foreign = try ForeignLedgers.unadopted(on: ledger.connection, recorded: 0) {
                return [
                    DoctorCheck(
                        subject: subject, outcome: .failed,
                        detail: "no ledger, and the database is \(foreign.notice(environment: environment.name))")
                ]
            }
            return [
                DoctorCheck(
                    subject: subject, outcome: .ok,
                    detail:
                        "not created yet (the first upgrade or promote creates schema `\(environment.ledgerSchema)`)")
            ]
        case .installed(let installed):
            versionRow = .present
            installedVersion = installed
            detail = "ledger `\(environment.ledgerSchema)` version \(installed)"
            if installed > Ledger.currentVersion {
                outcome = .failed
                detail += "; newer than this orchestrate understands (\(Ledger.currentVersion)): upgrade orchestrate"
            }
        case .versionLost(let lost):
            versionRow = lost
            outcome = .failed
            detail = "ledger `\(environment.ledgerSchema)` of unknown version"
        }
        let rows = try ledger.appliedRevisions()
        detail += ", \(rows.count) revision(s) applied"
        if versionRow == .present, let freeze = try ledger.freeze() {
            outcome = outcome == .failed ? .failed : .warning
            detail += "; \(freeze.summary)"
        }
        let damage = LedgerHealth.damage(
            rows: rows, versionRow: versionRow, schema: ledger.schema, fileParents: fileParents)
        if !damage.isEmpty {
            outcome = .failed
            detail += "; damaged: writing commands refuse it until it is mended"
        }
        let foreign = try ForeignLedgers.unadopted(on: ledger.connection, recorded: rows.count).map {
            DoctorCheck(
                subject: subject, outcome: .failed,
                detail: "the database is \($0.notice(environment: environment.name))")
        }
        var derived: [DoctorCheck] = []
        if let installed = installedVersion, installed >= LedgerDerived.digest.since,
            installed <= Ledger.currentVersion, let found = try ledger.derivedProblem()
        {
            outcome = .failed
            derived.append(
                DoctorCheck(subject: subject, outcome: .failed, detail: "\(found.problem); way out: \(found.remedy)"))
        }
        let baselined = rows.filter(\.baselined).count
        if baselined > 0 { detail += " (\(baselined) by baseline)" }
        return [DoctorCheck(subject: subject, outcome: outcome, detail: detail)] + (foreign.map { [$0] } ?? [])
            + derived
            + damage.map {
                DoctorCheck(subject: subject, outcome: .failed, detail: "\($0.problem); way out: \($0.remedy)")
            }
    }
}
