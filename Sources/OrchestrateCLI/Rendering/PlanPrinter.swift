import ArgumentParser
import Migrations
import OrchestrateCore

/// Renders a plan as text.
enum PlanPrinter {
    static func lines(_ report: PlanReport) -> [String] {
        var lines: [String] = []
        let what = report.source.map { "\(report.action) from \($0)" } ?? report.action
        if report.steps.isEmpty {
            lines.append("\(report.environment): \(what): nothing to run")
        } else {
            let verb = report.action == "downgrade" ? "revert" : "apply"
            let mode = report.singleTransaction ? "all in one transaction" : "each in its own transaction"
            lines.append("\(report.environment): \(what) would \(verb) \(report.steps.count) revision(s), \(mode):")
            let width = min(48, report.steps.map(\.revision.count).max() ?? 0)
            for (index, step) in report.steps.enumerated() {
                var line =
                    "  \(index + 1). \(step.direction == .up ? "up  " : "down") \(step.revision.padding(toLength: max(width, step.revision.count), withPad: " ", startingAt: 0))  \(step.path)"
                if let count = step.statements {
                    line += Console.style(
                        "  (non-transactional: \(count) statement(s), each committed on its own)", .yellow)
                }
                lines.append(line)
            }
        }
        if !report.ledgerExists {
            lines.append("the ledger does not exist yet: the run creates it")
        }
        for blocker in report.blockers {
            lines.append(Console.style("the run would be refused now:", .red) + " \(blocker)")
        }
        return lines
    }
}
