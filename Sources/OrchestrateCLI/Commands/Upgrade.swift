import ArgumentParser
import Migrations
import OrchestrateCore

struct Upgrade: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Apply migration files to a first-stage environment.",
        discussion:
            "Applies the target revision and its ancestors that the environment lacks, in topological order, each in its own transaction with its ledger row."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var transaction: TransactionOptions
    @OptionGroup var fleet: FleetOptions
    @Argument(help: "The environment (a first stage, e.g. dev).") var environment: String
    @Option(
        name: .long, help: ArgumentHelp("The revision to reach: an id, a unique prefix, or head.", valueName: "rev"))
    var to: String = "head"
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Apply only the next N revisions on the way to the target (Alembic's `upgrade +N`).", valueName: "n"))
    var steps: Int?

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
    }

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        context.handleInterrupts()
        var options = transaction.options
        options.steps = steps
        if fleet.isFleet(try context.project.environment(environment)) {
            let report = try context.orchestrator.upgradeFleet(
                environment, to: Target(to), options: options, selection: try fleet.selection())
            return try FleetReportPrinter.finish(report, json: output.json)
        }
        let report = try context.orchestrator
            .upgrade(environment, to: Target(to), options: options)
        try RunReportPrinter.print(report, json: output.json)
        return .done
    }
}
