import Migrations
import OrchestrateCore

/// Renders `status` of a fleet: the aggregate line, what is pending, then every target with a problem, by kind
/// (unreachable ones always named), and with `--targets` one line per target.
enum FleetStatusPrinter {
    /// How many targets a problem line names before "and N more".
    static let namedLimit = 10
    /// How many unreachable targets are named, one line each, before "and N more".
    static let unreachableLimit = 50

    static func render(_ status: EnvironmentStatus, _ fleet: FleetStatus, listTargets: Bool) {
        func row(_ label: String, _ text: String) {
            Console.out("  " + label.padding(toLength: 12, withPad: " ", startingAt: 0) + text)
        }
        row("targets", fleet.summaryLine)
        let source = status.promotesFrom ?? "migrations/"
        if let unreadable = status.unreadableSource(indent: 14) {
            row("pending", unreadable)
        } else if fleet.counts.behind == 0 {
            let unknown = fleet.counts.pendingUnknown
            row(
                "pending",
                unknown == 0
                    ? "none from \(source)"
                    : "none from \(source) on the targets read; unknown on \(targetCount(unknown))")
        } else {
            let shown = Listing.items(status.pending, limit: 8, counted: false)
            row(
                "pending",
                Console.style("\(status.pending.count)", .yellow)
                    + " from \(source) on \(targetCount(fleet.counts.behind)): \(shown)")
        }
        if !status.multipleHeads.isEmpty {
            row(
                "heads",
                Console.style("\(status.multipleHeads.count) heads in migrations/", .red)
                    + ": \(status.multipleHeads.joined(separator: ", ")) (run `orchestrate merge`)")
        }
        let unreachable = fleet.targets.filter { !$0.reachable }
        for target in unreachable.prefix(unreachableLimit) {
            let reason = Self.reason(target, environment: status.name)
            row("unreachable", Console.style(target.name, .red) + ": " + reason)
        }
        if unreachable.count > unreachableLimit {
            row(
                "unreachable",
                "and \(unreachable.count - unreachableLimit) more (`--targets` or `--json` lists every target)")
        }
        named(fleet, "locked", { $0.lock.map { "by \($0.summary)" } }, row)
        named(fleet, "frozen", { $0.freeze.map(\.summary) }, row)
        named(
            fleet, "failed",
            { target in
                target.failedRun.map { run in
                    "last \(run.action) \(run.outcome) at \(run.at)"
                        + (run.message.map { ": " + ($0.split(separator: "\n").first.map(String.init) ?? "") } ?? "")
                }
            }, row)
        for item in fleet.drift {
            row(
                "drift",
                Console.style("\(item.drift.path) edited after apply", .red)
                    + " on \(targetCount(item.targets)) (checksum \(item.drift.recordedChecksum.prefix(12)) -> \(item.drift.fileChecksum.prefix(12)))"
                    + (item.drift.commits.isEmpty
                        ? "" : "; changed by " + Listing.items(item.drift.commits.map(\.line))))
        }
        named(
            fleet, "broken",
            { target in
                target.interrupted.isEmpty
                    ? nil
                    : target.interrupted.map {
                        "\($0.revision) \($0.state) at statement \($0.statementsDone + 1) of \($0.statementsTotal)"
                    }.joined(separator: ", ")
                        + "; `orchestrate repair \(status.name) REV --target \(target.name) --applied|--reverted --reason TEXT`"
            }, row)
        named(
            fleet, "damaged",
            { target in
                target.damage.isEmpty
                    ? nil : target.damage.map { "\($0.problem); way out: \($0.remedy)" }.joined(separator: "; ")
            }, row)
        named(fleet, "foreign", { $0.foreignLedger }, row)
        named(
            fleet, "orphan",
            { $0.orphans.isEmpty ? nil : "\($0.orphans.joined(separator: ", ")) have no file at HEAD" }, row)
        if fleet.counts.noLedger > 0 {
            row("no ledger", "\(targetCount(fleet.counts.noLedger)) (nothing applied yet)")
        }
        guard listTargets else { return }
        Console.out()
        let width = min(40, fleet.targets.map(\.name.count).max() ?? 0)
        for target in fleet.targets { Console.out("  " + line(target, environment: status.name, width: width)) }
    }

    /// One problem kind: one line per target that has it, up to `namedLimit`, then how many more.
    private static func named(
        _ fleet: FleetStatus, _ label: String, _ detail: (FleetStatus.Target) -> String?,
        _ row: (String, String) -> Void
    ) {
        let found = fleet.targets.compactMap { target in detail(target).map { (target.name, $0) } }
        for (name, text) in found.prefix(namedLimit) {
            row(label, Console.style(name, .yellow) + ": " + text.replacingOccurrences(of: "\n", with: " "))
        }
        if found.count > namedLimit {
            row(label, "and \(found.count - namedLimit) more (`--targets` lists every target)")
        }
    }

    /// `--targets`: the target, where it stands, and each of its problems.
    static func line(_ target: FleetStatus.Target, environment: String, width: Int) -> String {
        let name = target.name.padding(toLength: max(width, target.name.count), withPad: " ", startingAt: 0)
        guard target.reachable else {
            let reason = Self.reason(target, environment: environment)
            return "\(name)  " + Console.style("unreachable", .red) + ": \(reason)"
        }
        var parts: [String] = []
        if target.ledgerVersion == nil, target.damage.isEmpty {
            parts.append("nothing applied (no ledger yet)")
        } else {
            let at = target.headsApplied.isEmpty ? "base" : target.headsApplied.joined(separator: ", ")
            parts.append("at \(at) (\(target.appliedCount) applied)")
        }
        if !target.pendingKnown {
            parts.append("pending unknown")
        } else if !target.pending.isEmpty {
            parts.append("\(target.pending.count) pending")
        }
        if let run = target.failedRun { parts.append("last \(run.action) \(run.outcome)") }
        if let lock = target.lock { parts.append("locked by \(lock.summary)") }
        if target.freeze != nil { parts.append("frozen") }
        if !target.drift.isEmpty { parts.append("drift: \(target.drift.joined(separator: ", "))") }
        if !target.interrupted.isEmpty {
            parts.append("interrupted: \(target.interrupted.map(\.revision).joined(separator: ", "))")
        }
        if !target.damage.isEmpty { parts.append("damaged ledger") }
        return "\(name)  " + parts.joined(separator: "; ")
    }
}

extension FleetStatusPrinter {
    /// The first line of why a target could not be read, without the "target `t` of `env`: " its line already says.
    static func reason(_ target: FleetStatus.Target, environment: String) -> String {
        let first = (target.error ?? "unknown error").split(separator: "\n").first.map(String.init) ?? ""
        let prefix = "target `\(target.name)` of `\(environment)`: "
        return first.hasPrefix(prefix) ? String(first.dropFirst(prefix.count)) : first
    }
}

/// "1 target", "1,000 targets".
private func targetCount(_ count: Int) -> String {
    "\(FleetStatus.format(count)) target\(count == 1 ? "" : "s")"
}
