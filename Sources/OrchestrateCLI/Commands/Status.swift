import ArgumentParser
import Migrations
import OrchestrateCore

struct Status: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Which revision each environment runs, what is pending, drift, freezes and lock holders.",
        discussion: """
            Exits 3 when an environment could not be read or its ledger is damaged, or when a later stage's pending list is unknown because its \
            source stage could not be read, after reporting all of them. A fleet is summed up in one line (how many targets stand at which \
            revision, failed, locked, frozen, unreachable), unreachable targets are named; --targets lists every target, --json has them all; \
            an unreachable target exits 3. Drift and pending revisions do not change the exit code. --drift adds a `schema` line per \
            environment: no schema drift, how many objects differ, or unknown and why (then the exit code is 3).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var fleet: FleetOptions
    @Flag(name: .long, help: "For a fleet: one line per target after the aggregate (--json always has every target).")
    var targets = false
    @Argument(help: "Environments to report (default: all, in pipeline order).") var environments: [String] = []
    @Flag(
        name: .long,
        help:
            "Also compare each schema with what its applied revisions produce (replayed on the sandbox, or cached); see `orchestrate diff`."
    )
    var drift = false

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        var statuses = try context.inspector.status(environments, selection: try fleet.selection())
        if drift {
            context.handleInterrupts()
            let summaries = try context.orchestrator.schemaDrift(statuses.filter(\.reachable).map(\.name))
            for index in statuses.indices {
                let name = statuses[index].name
                statuses[index].schemaDrift =
                    summaries[name]
                    ?? SchemaDriftSummary(environment: name, state: .unknown, cause: "its database cannot be read")
            }
        }
        if output.json {
            try Console.json(statuses)
        } else {
            for (index, status) in statuses.enumerated() {
                if index > 0 { Console.out() }
                render(status)
            }
        }
        return statuses.contains(where: { !$0.reachable || !$0.pendingKnown || $0.schemaDrift?.state == .unknown })
            ? .unreadable : .done
    }

    private func render(_ status: EnvironmentStatus) {
        var title = Console.style(status.name, .bold)
        title +=
            status.promotesFrom.map { "  (promotes from \($0))" }
            ?? (status.placeKnown ? "  (first stage)" : "  (place in the pipeline unknown)")
        title += "  \(status.database)"
        if status.isProtected { title += "  protected" }
        Console.out(title)
        if status.reachable, let fleet = status.fleet {
            FleetStatusPrinter.render(status, fleet, listTargets: targets)
            return
        }
        guard status.reachable else {
            Console.out(
                "  " + Console.style("unreachable", .red) + ": "
                    + (status.error ?? "unknown error").replacingOccurrences(of: "\n", with: "\n  "))
            if let schema = status.schemaDrift { Console.out("  schema   " + Console.style(schema.description, .red)) }
            return
        }
        func row(_ label: String, _ text: String) {
            Console.out("  " + label.padding(toLength: 9, withPad: " ", startingAt: 0) + text)
        }
        if status.ledgerVersion == nil {
            row("at", "nothing applied (no ledger yet)")
        } else {
            let byBaseline = status.baselinedCount > 0 ? ", \(status.baselinedCount) by baseline" : ""
            var position =
                "\(status.headsApplied.isEmpty ? "base" : status.headsApplied.joined(separator: ", ")) (\(status.appliedCount) applied\(byBaseline))"
            if !status.interrupted.isEmpty {
                position += ", then " + status.interrupted.map { "\($0.revision) \($0.state)" }.joined(separator: ", ")
            }
            row("at", position)
        }
        if let foreign = status.foreignLedger {
            row("foreign", Console.style(foreign, .yellow))
        }
        let source = status.promotesFrom ?? "migrations/"
        if let unreadable = status.unreadableSource(indent: 11) {
            row("pending", unreadable)
        } else if !status.damage.isEmpty {
            row("pending", Console.style("unknown", .red) + ": the ledger is damaged")
        } else if status.pending.isEmpty {
            row("pending", "none from \(source)")
        } else {
            let shown = Listing.items(status.pending, limit: 8, counted: false)
            row("pending", Console.style("\(status.pending.count)", .yellow) + " from \(source): \(shown)")
        }
        if let schema = status.schemaDrift {
            row("schema", schema.state == .none ? schema.description : Console.style(schema.description, .red))
        }
        if !status.multipleHeads.isEmpty {
            row(
                "heads",
                Console.style("\(status.multipleHeads.count) heads in migrations/", .red)
                    + ": \(status.multipleHeads.joined(separator: ", ")) (run `orchestrate merge`)")
        }
        if !status.aheadOfSource.isEmpty {
            row(
                "ahead",
                "runs \(status.aheadOfSource.joined(separator: ", ")), which \(status.promotesFrom ?? "the source") does not"
            )
        }
        if let last = status.lastChange {
            var text = "\(last.revision) at \(last.appliedAt) by \(last.by)"
            if let commit = last.gitCommit { text += ", commit \(commit.prefix(7))" }
            if let source = last.promotedFrom { text += ", promoted from \(source)" }
            row("last", text)
        }
        for damage in status.damage {
            row("damaged", Console.style(damage.problem, .red) + "\n           way out: " + damage.remedy)
        }
        if let lock = status.lock { row("lock", Console.style("held", .yellow) + " by \(lock.summary)") }
        if let freeze = status.freeze { row("frozen", Console.style(freeze.summary, .red)) }
        for item in status.interrupted {
            let now = item.runInProgress ? " (a run holds the lock: it may still be running)" : ""
            row(
                "broken",
                Console.style(
                    "\(item.revision) \(item.state) at statement \(item.statementsDone + 1) of \(item.statementsTotal)",
                    .red)
                    + now + "; `orchestrate repair \(status.name) \(item.revision) --applied|--reverted --reason TEXT`")
        }
        for item in status.drift {
            var text =
                Console.style("\(item.path) edited after apply", .red)
                + " (checksum \(item.recordedChecksum.prefix(12)) -> \(item.fileChecksum.prefix(12)))"
            if !item.commits.isEmpty {
                text += "; changed by " + Listing.items(item.commits.map(\.line))
            }
            row("drift", text)
        }
        for orphan in status.orphans {
            var text = "\(orphan.revision) has no file at HEAD"
            if let commit = orphan.gitCommit {
                text += "; applied from commit \(commit.prefix(7))"
                if !orphan.commitKnown {
                    text += ", unknown to this repository"
                } else if orphan.branches.isEmpty {
                    text += ", which is on no branch (abandoned or rebased)"
                } else {
                    text += ", on \(orphan.branches.joined(separator: ", "))"
                }
            }
            row("orphan", text)
        }
    }
}
