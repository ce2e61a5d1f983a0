import ArgumentParser
import Foundation
import OrchestrateCore

struct Repair: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Accept an edited file's checksum, or settle an interrupted non-transactional revision; audited.",
        discussion: """
            Without --applied/--reverted: REV's file was edited after it was applied to ENV and the edit is known to be \
            harmless; its current checksum and SQL are recorded in ENV's ledger (the event names the old and the new \
            checksum), so later stages promote it again. With --applied or --reverted: REV is a non-transactional \
            revision left half-done by an interrupted run; after checking the database, mark it applied or forget it. \
            Runs under the environment lock; a frozen environment is refused (unlock it first); protected environments \
            need --yes.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var fleet: FleetOptions
    @Argument(help: "The environment.") var environment: String
    @Argument(help: "The revision (an id or a unique prefix of one in the environment's ledger).") var revision: String
    @Option(name: .long, help: "Why this is safe; recorded in the event log.") var reason: String
    @Flag(name: .long, help: "The interrupted revision's statements all took effect: mark it applied.") var applied =
        false
    @Flag(name: .long, help: "The interrupted revision's effects are gone: remove its ledger row.") var reverted = false
    @Flag(name: .long, help: "Confirm work on a protected environment without a prompt.") var yes = false

    func validate() throws {
        if applied && reverted { throw ValidationError("give at most one of --applied and --reverted") }
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("--reason must say why the repair is safe")
        }
    }

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let config = try project.environment(environment)
        try confirmProtected(config, action: "repair", yes: yes)
        let settlement: RepairSettlement? = applied ? .applied : reverted ? .reverted : nil
        if fleet.isFleet(config) {
            let report = try context.orchestrator.repairFleet(
                environment, revision: revision, reason: reason, settlement: settlement,
                selection: try fleet.selection())
            return try FleetReportPrinter.finish(report, json: output.json)
        }
        let report = try context.orchestrator
            .repair(environment, revision: revision, reason: reason, settlement: settlement)
        if output.json {
            try Console.json(report)
            return .done
        }
        switch report.outcome {
        case .accepted:
            Console.out(
                "\(environment): \(report.revision) now recorded with checksum \(report.newChecksum?.prefix(12) ?? "") (was \(report.oldChecksum?.prefix(12) ?? ""))"
            )
        case .unchanged:
            Console.out("\(environment): \(report.revision) already matches its file; nothing to repair")
        default:
            Console.out("\(environment): \(report.revision) marked \(report.outcome)")
        }
        return .done
    }
}
