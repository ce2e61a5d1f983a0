import ArgumentParser
import Migrations
import OrchestrateCore

struct Promote: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Apply to an environment what its source stage runs and it lacks.",
        discussion:
            "Each revision's file must have the checksum the source stage recorded: what is promoted is what was tested."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var transaction: TransactionOptions
    @OptionGroup var fleet: FleetOptions
    @Argument(help: "The environment to promote to (e.g. staging).") var environment: String
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Promote only this revision and its ancestors (it must run in the source stage).", valueName: "rev"))
    var to: String = "head"
    @Flag(name: .long, help: "Confirm work on a protected environment without a prompt.") var yes = false

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let orchestrator = context.orchestrator
        let config = try project.environment(environment)
        if fleet.isFleet(config) {
            // A protected fleet is confirmed once for all its targets.
            try confirmProtected(
                config, action: "promote", yes: yes,
                planCommand: "orchestrate plan \(environment)" + (to == "head" ? "" : " --to \(to)"))
            context.handleInterrupts()
            let report = try orchestrator.promoteFleet(
                environment, to: Target(to), options: transaction.options, selection: try fleet.selection())
            return try FleetReportPrinter.finish(report, json: output.json)
        }
        try confirmProtected(
            try project.environment(environment), action: "promote", yes: yes,
            planCommand: "orchestrate plan \(environment)" + (to == "head" ? "" : " --to \(to)")
        ) { () throws(OrchestrateError) -> PlanReport? in
            try orchestrator.plan(environment, .forward(Target(to)), options: transaction.options)
        }
        context.handleInterrupts()
        let report = try orchestrator.promote(environment, to: Target(to), options: transaction.options)
        try RunReportPrinter.print(report, json: output.json)
        return .done
    }
}
