import OrchestrateCore

/// Prints `diff`'s report and `new --from-…`'s changes.
enum DriftPrinter {
    static func render(_ report: DriftReport) {
        let name = report.environment
        let revisions = "\(report.applied.count) applied revision\(report.applied.count == 1 ? "" : "s")"
        Console.out("\(name): \(report.database), compared with its \(revisions) (\(origin(report.replay)))")
        if let left = report.replay.leftBehind {
            Console.out(
                Console.style("note:", .yellow) + " \(report.replay.scratch ?? "the scratch database") keeps \(left)")
        }
        guard report.drifted else {
            Console.out(Console.style("no schema drift", .green) + ": the schema is what its revisions produce")
            return
        }
        let count = report.objects.count == 1 ? "1 object differs" : "\(report.objects.count) objects differ"
        Console.out(Console.style("schema drift: \(count)", .red))
        for change in report.changes { Console.out("  " + line(change, environment: name)) }
        Console.out()
        Console.out("To bring \(name) back to what its revisions say, run on \(name):")
        printSQL(report.changes)
        if report.destructiveChanges > 0 {
            Console.out(
                Console.style("\(report.destructiveChanges) statement(s) destroy data", .red)
                    + " (marked DESTROYS DATA): read them before running them")
        }
        Console.out()
        Console.out(
            "To keep the drift instead, capture it as a revision (once \(name) runs the head of migrations/):\n"
                + "  orchestrate new \"MESSAGE\" --from-db \(name)")
    }

    /// Where the expected schema came from.
    static func origin(_ replay: ReplaySource) -> String {
        if replay.cached { return "from the cache \(replay.cacheFile ?? "")" }
        return "replayed on \(replay.scratch ?? "a scratch database")"
    }

    /// `- column public.users.nickname: only in staging`.
    static func line(_ change: SchemaChange, environment: String) -> String {
        var text: String
        switch change.action {
        case .drop: text = "- \(change.object): only in \(environment)"
        case .create: text = "+ \(change.object): missing from \(environment)"
        case .alter: text = "~ \(change.object): different in \(environment)"
        }
        if change.destroysData { text += Console.style(" (reconciling it destroys data)", .red) }
        if let note = change.note { text += "; \(note)" }
        return text
    }

    /// The statements of `changes`, indented, a destructive one marked.
    static func printSQL(_ changes: [SchemaChange]) {
        for change in changes {
            if change.sql.isEmpty {
                Console.out("  -- \(change.object): no SQL can be generated for it; reconcile it by hand")
            }
            for statement in change.sql {
                let text = statement.replacingOccurrences(of: "\n", with: "\n  ")
                Console.out("  " + text + (change.destroysData ? Console.style("  -- DESTROYS DATA", .red) : ""))
            }
        }
    }
}
