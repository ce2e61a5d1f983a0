import ArgumentParser
import Migrations
import OrchestrateCore

struct Downgrade: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "downgrade",
        abstract: "Revert revisions, newest first, with the down SQL recorded in the ledger.",
        discussion:
            "`--to base` reverts everything. Irreversible revisions (no down section) are refused before anything runs."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var transaction: TransactionOptions
    @OptionGroup var fleet: FleetOptions
    @Argument(help: "The environment.") var environment: String
    @Option(
        name: .long, help: ArgumentHelp("The revision to go back to (it stays applied), or base.", valueName: "rev"))
    var to: String?
    @Option(name: .long, help: "Revert this many revisions instead.") var steps: Int?
    @Flag(name: .long, help: "Confirm work on a protected environment without a prompt.") var yes = false

    func validate() throws {
        guard (to == nil) != (steps == nil) else {
            throw ValidationError("give exactly one of --to REV (or base) and --steps N")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
    }

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let orchestrator = context.orchestrator
        let planCommand =
            "orchestrate plan \(environment) --down " + (to.map { "--to \($0)" } ?? "--steps \(steps ?? 1)")
        let config = try project.environment(environment)
        if fleet.isFleet(config) {
            try confirmProtected(config, action: "downgrade", yes: yes, planCommand: planCommand)
            context.handleInterrupts()
            let report = try orchestrator.downgradeFleet(
                environment, to: to.map(Target.init), steps: steps, options: transaction.options,
                selection: try fleet.selection())
            return try FleetReportPrinter.finish(report, json: output.json)
        }
        try confirmProtected(
            try project.environment(environment), action: "downgrade", yes: yes, planCommand: planCommand
        ) { () throws(OrchestrateError) -> PlanReport? in
            try orchestrator.plan(
                environment, .downgrade(to: to.map(Target.init), steps: steps), options: transaction.options)
        }
        context.handleInterrupts()
        let report = try orchestrator.downgrade(
            environment, to: to.map(Target.init), steps: steps, options: transaction.options)
        try RunReportPrinter.print(report, json: output.json)
        return .done
    }
}
