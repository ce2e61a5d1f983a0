import Foundation
import Postgres

/// `doctor` on a fleet: the target list resolves, how many targets answer (the others named), and their ledgers'
/// health summed up; a healthy target gets no line of its own.
extension Doctor {
    /// How many unhealthy targets a line names before "and N more".
    static let namedLimit = 20

    /// "fleet of 20 targets (`targets`)", or "fleet from `targets_query` on <database>".
    static func fleetDescription(_ fleet: FleetConfig) -> String {
        switch fleet.source {
        case .list(let entries):
            let schemas = entries.filter { $0.schema != nil }.count
            return "fleet of \(entries.count) target(s) listed in `targets`"
                + (schemas > 0 ? " (\(schemas) schema target(s))" : "")
        case .query:
            return "fleet whose targets `targets_query` lists"
        }
    }

    /// The fleet's lines: `targets ENV`, `database ENV` (reachable targets), `ledger ENV` (their ledgers).
    static func checkFleet(
        _ environment: EnvironmentConfig, project: Project, fileParents: [String: [String]],
        interruptions: Interruptions, progress: @escaping ProgressHandler
    ) -> [DoctorCheck] {
        let name = environment.name
        let inspector = Inspector(project: project, interruptions: interruptions, progress: progress)
        let read: Inspector.FleetRead
        do {
            read = try inspector.readFleet(environment, selection: .all, verify: true)
        } catch {
            return [DoctorCheck(subject: "targets \(name)", outcome: .failed, detail: error.description)]
        }
        let parallel = environment.fleet?.parallel ?? 4
        var checks = [
            DoctorCheck(
                subject: "targets \(name)", outcome: .ok,
                detail:
                    "\(FleetStatus.format(read.all.count)) target(s), \(read.all.filter { $0.schema != nil }.count) of them schemas; parallel = \(parallel)"
            )
        ]
        var unreachable: [String] = []
        var versions: [Int: Int] = [:]
        var noLedger = 0
        var damaged: [String] = []
        var frozen: [String] = []
        var interrupted: [String] = []
        var foreign: [String] = []
        var derived: [String] = []
        for (target, targetRead) in zip(read.selected, read.reads) {
            switch targetRead {
            case .unreachable(let error):
                unreachable.append("\(target.name) (\(error.split(separator: "\n").first.map(String.init) ?? ""))")
            case .full(let snapshot):
                if let version = snapshot.ledgerVersion { versions[version, default: 0] += 1 }
                if snapshot.ledgerVersion == nil, snapshot.damage.isEmpty { noLedger += 1 }
                if let found = snapshot.foreign {
                    foreign.append("\(target.name): \(found.notice(environment: name))")
                }
                if let first = snapshot.damage.first {
                    damaged.append("\(target.name) (\(first.problem); way out: \(first.remedy))")
                }
                if let freeze = snapshot.freeze { frozen.append("\(target.name) (\(freeze.summary))") }
            case .summary(let summary, _):
                if let version = summary.version { versions[version, default: 0] += 1 }
                if case .success(let rows)? = read.rows[summary.digest] {
                    let damage = LedgerHealth.damage(
                        rows: rows, versionRow: .present, schema: environment.forTarget(target).ledgerSchema,
                        fileParents: fileParents)
                    if let first = damage.first {
                        damaged.append("\(target.name) (\(first.problem); way out: \(first.remedy))")
                    }
                }
                if let freeze = summary.freeze { frozen.append("\(target.name) (\(freeze.summary))") }
                if let found = summary.derivedProblem {
                    derived.append("\(target.name) (\(found.problem); way out: \(found.remedy))")
                }
                if !summary.unfinished.isEmpty {
                    interrupted.append(
                        "\(target.name) (\(summary.unfinished.map(\.revision).joined(separator: ", ")))")
                }
            }
        }
        let reachable = read.selected.count - unreachable.count
        if unreachable.isEmpty {
            checks.append(
                DoctorCheck(
                    subject: "database \(name)", outcome: .ok,
                    detail: "all \(FleetStatus.format(reachable)) target(s) reachable"))
        } else {
            checks.append(
                DoctorCheck(
                    subject: "database \(name)", outcome: .failed,
                    detail:
                        "\(FleetStatus.format(reachable)) of \(FleetStatus.format(read.selected.count)) target(s) reachable; \(unreachable.count) unreachable: \(names(unreachable))"
                ))
        }
        let newer = versions.keys.filter { $0 > Ledger.currentVersion }.sorted()
        var ledgers = versions.keys.sorted().map { "\(FleetStatus.format(versions[$0] ?? 0)) at version \($0)" }
        if noLedger > 0 { ledgers.append("\(FleetStatus.format(noLedger)) not created yet") }
        let healthy = reachable - damaged.count - foreign.count - derived.count
        checks.append(
            DoctorCheck(
                subject: "ledger \(name)", outcome: newer.isEmpty ? .ok : .failed,
                detail:
                    "\(FleetStatus.format(max(0, healthy))) of \(FleetStatus.format(reachable)) reachable target(s) healthy"
                    + (ledgers.isEmpty ? "" : " (\(ledgers.joined(separator: ", ")))")
                    + (newer.isEmpty
                        ? ""
                        : "; version \(newer.map(String.init).joined(separator: ", ")) is newer than this orchestrate understands (\(Ledger.currentVersion)): upgrade orchestrate")
            ))
        // One line per kind of problem, naming the targets that have it.
        let problems: [(targets: [String], outcome: DoctorCheck.Outcome, what: String)] = [
            (damaged, .failed, "damaged (writing commands refuse them until mended)"),
            (
                interrupted, .failed,
                "with a revision interrupted between statements (`orchestrate status \(name) --targets`, then `orchestrate repair \(name) REV --target NAME`)"
            ),
            (foreign, .failed, "managed by another tool"),
            (derived, .failed, "whose digest and summary columns do not follow their rows"),
            (frozen, .warning, "frozen"),
        ]
        for problem in problems where !problem.targets.isEmpty {
            checks.append(
                DoctorCheck(
                    subject: "ledger \(name)", outcome: problem.outcome,
                    detail: "\(problem.targets.count) \(problem.what): \(names(problem.targets))"))
        }
        return checks
    }

    /// Up to `namedLimit` items, then how many more.
    private static func names(_ items: [String]) -> String {
        items.prefix(namedLimit).joined(separator: "; ")
            + (items.count > namedLimit
                ? "; and \(items.count - namedLimit) more (`orchestrate status ENV --targets`)" : "")
    }
}
