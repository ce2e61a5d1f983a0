import ArgumentParser
import Migrations
import OrchestrateCore

/// Prints what a writing run did.
enum RunReportPrinter {
    static func print(_ report: RunReport, json: Bool) throws(OrchestrateError) {
        if json { return try Console.json(report) }
        if report.steps.isEmpty {
            Console.out("\(report.environment): up to date")
            return
        }
        let verb = report.steps.first?.direction == .down ? "reverted" : "applied"
        let total = report.steps.reduce(0) { $0 + $1.milliseconds }
        let position = verb == "applied" ? "; now at \(report.steps.last?.revision ?? "")" : ""
        Console.out(
            "\(report.environment): \(verb) \(report.steps.count) revision(s) in \(Console.formatDuration(total))\(position)"
        )
    }
}
