import ArgumentParser
import Foundation
import Migrations
import OrchestrateCore

struct Lock: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Freeze an environment: every writing command refuses it until `unlock`.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var fleet: FleetOptions
    @Argument(help: "The environment.") var environment: String
    @Option(name: .long, help: "Why it is frozen (shown to everyone who is refused).") var reason: String

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        if fleet.isFleet(try context.project.environment(environment)) {
            let report = try context.orchestrator.freezeFleet(
                environment, reason: reason, selection: try fleet.selection())
            return try FleetReportPrinter.finish(report, json: output.json)
        }
        try context.orchestrator.freeze(environment, reason: reason)
        Console.out("\(environment): frozen (\(reason))")
        return .done
    }
}
