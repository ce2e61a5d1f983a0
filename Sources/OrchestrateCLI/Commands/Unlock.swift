import ArgumentParser
import Foundation
import Migrations
import OrchestrateCore

struct Unlock: ProjectCommand {
    static let configuration = CommandConfiguration(commandName: "unlock", abstract: "Thaw a frozen environment.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var fleet: FleetOptions
    @Argument(help: "The environment.") var environment: String
    @Flag(name: .long, help: "Confirm work on a protected environment without a prompt.") var yes = false

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let config = try project.environment(environment)
        try confirmProtected(config, action: "unlock", yes: yes)
        if fleet.isFleet(config) {
            let report = try context.orchestrator.thawFleet(environment, selection: try fleet.selection())
            return try FleetReportPrinter.finish(report, json: output.json)
        }
        if let freeze = try context.orchestrator.thaw(environment) {
            Console.out("\(environment): thawed (was \(freeze.summary))")
        } else {
            Console.out("\(environment): was not frozen")
        }
        return .done
    }
}
