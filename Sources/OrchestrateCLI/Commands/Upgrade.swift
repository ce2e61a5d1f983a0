import ArgumentParser
import Migrations
import OrchestrateCore

struct Upgrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Apply migration files to a first-stage environment.",
        discussion: "Applies the target revision and its ancestors that the environment lacks, in topological order, each in its own transaction with its ledger row.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var transaction: TransactionOptions
    @Argument(help: "The environment (a first stage, e.g. dev).") var environment: String
    @Option(name: .long, help: ArgumentHelp("The revision to reach: an id, a unique prefix, or head.", valueName: "rev"))
    var to: String = "head"
    @Option(name: .long, help: ArgumentHelp("Apply only the next N revisions on the way to the target (Alembic's `upgrade +N`).", valueName: "n"))
    var steps: Int?

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let project = try global.loadProject()
        Interrupts.install()
        var options = transaction.options
        options.steps = steps
        let report = try Orchestrator(project: project, progress: Console.progress)
            .upgrade(environment, to: Target(to), options: options)
        try RunReportPrinter.print(report, json: output.json)
    }
}

struct Promote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Apply to an environment what its source stage runs and it lacks.",
        discussion: "Each revision's file must have the checksum the source stage recorded: what is promoted is what was tested.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var transaction: TransactionOptions
    @Argument(help: "The environment to promote to (e.g. staging).") var environment: String
    @Option(name: .long, help: ArgumentHelp("Promote only this revision and its ancestors (it must run in the source stage).", valueName: "rev"))
    var to: String = "head"
    @Flag(name: .long, help: "Confirm work on a protected environment without a prompt.") var yes = false

    func run() throws {
        let project = try global.loadProject()
        let orchestrator = Orchestrator(project: project, progress: Console.progress)
        try confirmProtected(try project.environment(environment), action: "promote", yes: yes,
                             planCommand: "orchestrate plan \(environment)" + (to == "head" ? "" : " --to \(to)")) { () throws(OrchestrateError) -> PlanReport? in
            try orchestrator.plan(environment, .forward(Target(to)), options: transaction.options)
        }
        Interrupts.install()
        let report = try orchestrator.promote(environment, to: Target(to), options: transaction.options)
        try RunReportPrinter.print(report, json: output.json)
    }
}

struct Downgrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downgrade",
        abstract: "Revert revisions, newest first, with the down SQL recorded in the ledger.",
        discussion: "`--to base` reverts everything. Irreversible revisions (no down section) are refused before anything runs.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var transaction: TransactionOptions
    @Argument(help: "The environment.") var environment: String
    @Option(name: .long, help: ArgumentHelp("The revision to go back to (it stays applied), or base.", valueName: "rev"))
    var to: String?
    @Option(name: .long, help: "Revert this many revisions instead.") var steps: Int?
    @Flag(name: .long, help: "Confirm work on a protected environment without a prompt.") var yes = false

    func validate() throws {
        guard (to == nil) != (steps == nil) else {
            throw ValidationError("give exactly one of --to REV (or base) and --steps N")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let project = try global.loadProject()
        let orchestrator = Orchestrator(project: project, progress: Console.progress)
        let planCommand = "orchestrate plan \(environment) --down " + (to.map { "--to \($0)" } ?? "--steps \(steps ?? 1)")
        try confirmProtected(try project.environment(environment), action: "downgrade", yes: yes, planCommand: planCommand) { () throws(OrchestrateError) -> PlanReport? in
            try orchestrator.plan(environment, .downgrade(to: to.map(Target.init), steps: steps), options: transaction.options)
        }
        Interrupts.install()
        let report = try orchestrator.downgrade(environment, to: to.map(Target.init), steps: steps, options: transaction.options)
        try RunReportPrinter.print(report, json: output.json)
    }
}

/// Prints what a writing run did.
enum RunReportPrinter {
    static func print(_ report: RunReport, json: Bool) throws(OrchestrateError) {
        if json { return try Console.json(report) }
        if report.steps.isEmpty {
            Console.out("\(report.environment): up to date")
            return
        }
        let verb = report.steps.first?.direction == "down" ? "reverted" : "applied"
        let total = report.steps.reduce(0) { $0 + $1.milliseconds }
        let position = verb == "applied" ? "; now at \(report.steps.last?.revision ?? "")" : ""
        Console.out("\(report.environment): \(verb) \(report.steps.count) revision(s) in \(Console.formatDuration(total))\(position)")
    }
}
