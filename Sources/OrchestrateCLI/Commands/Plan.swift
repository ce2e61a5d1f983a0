import ArgumentParser
import Migrations
import OrchestrateCore

struct PlanCommand: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what upgrade, promote or downgrade would run, without touching the target.",
        discussion: """
            A first stage is planned as `upgrade`, a later stage as `promote`; `--down` plans a `downgrade` (with --to REV, \
            --to base or --steps N). `--sql` prints the exact script the run would send — session settings, the environment \
            lock, transaction boundaries, the revisions' SQL and the ledger writes — for review, or to run by hand with \
            `psql -X -v ON_ERROR_STOP=1 -f FILE`. Nothing is written to the target database, not even the ledger. \
            Exits like the run would for a plan it would refuse; a freeze or uncommitted files are reported as blockers. \
            `--sql --no-ledger` is the reviewer's view: the revisions' own SQL in order, each under a comment naming it, \
            without the lock and ledger statements. `plan --sql --from REV --to REV` needs no environment and no database: \
            like `alembic upgrade A:B --sql`, it prints what going from one revision to the other runs, from the files \
            (`base` is nothing applied; going down uses the files' down sections).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var transaction: TransactionOptions
    @OptionGroup var fleet: FleetOptions
    @Argument(help: "The environment (not with --from).") var environment: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The revision to reach (an id, a unique prefix, head; with --down: the revision to go back to, or base).",
            valueName: "rev"))
    var to: String?
    @Flag(name: .long, help: "Plan a downgrade instead (with --to REV|base or --steps N).") var down = false
    @Option(name: .long, help: "With --down: revert this many revisions.") var steps: Int?
    @Flag(name: .long, help: "Print the SQL script the run would send.") var sql = false
    @Flag(name: .long, help: "With --sql: only the revisions' own SQL, without the lock and ledger statements.")
    var noLedger = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Offline, with --sql --to: plan from this revision (or base) using the files alone, with no environment or database.",
            valueName: "rev"))
    var from: String?

    func validate() throws {
        if let from {
            guard sql else { throw ValidationError("--from plans offline and prints SQL: add --sql (and --to REV)") }
            guard to != nil else { throw ValidationError("--from \(from) needs --to REV (or head)") }
            guard environment == nil else {
                throw ValidationError(
                    "an offline plan (--from) reads no environment: drop `\(environment ?? "")`, or drop --from to plan against it"
                )
            }
            guard !down else {
                throw ValidationError(
                    "an offline plan goes down by itself when --to is an ancestor of --from: drop --down")
            }
            return
        }
        guard environment != nil else {
            throw ValidationError(
                "give the environment to plan (e.g. `orchestrate plan staging`), or --sql --from REV --to REV for an offline plan"
            )
        }
        if noLedger, !sql { throw ValidationError("--no-ledger shapes the SQL script: add --sql") }
        if down {
            guard (to == nil) != (steps == nil) else {
                throw ValidationError("--down needs exactly one of --to REV (or base) and --steps N")
            }
            if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        } else if steps != nil {
            throw ValidationError("--steps plans a downgrade: add --down")
        }
    }

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        if let from {
            let script = try context.orchestrator.offlineScript(from: from, to: to ?? "head")
            Console.out(String(script.dropLast()))
            return .done
        }
        let environment = self.environment ?? ""
        let request: PlanRequest =
            down ? .downgrade(to: to.map(Target.init), steps: steps) : .forward(Target(to ?? "head"))
        if fleet.isFleet(try context.project.environment(environment)) {
            let report = try context.orchestrator.planFleet(
                environment, request, options: transaction.options, sql: sql, ledger: !noLedger,
                selection: try fleet.selection())
            if output.json {
                try Console.json(report)
            } else {
                for line in FleetReportPrinter.planLines(report, sql: sql) { Console.out(line) }
            }
            if let failure = report.failure { throw failure }
            return .done
        }
        let report = try context.orchestrator
            .plan(environment, request, options: transaction.options, sql: sql, ledger: !noLedger)
        if output.json {
            try Console.json(report)
            return .done
        }
        if sql {
            for blocker in report.blockers {
                Console.err(
                    Console.style("warning:", .yellow, forStderr: true) + " the run would be refused now: \(blocker)")
            }
            Console.out(String((report.sql ?? "\n").dropLast()))
            return .done
        }
        for line in PlanPrinter.lines(report) { Console.out(line) }
        return .done
    }
}
