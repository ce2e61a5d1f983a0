import OrchestrateCore

/// The text of an import report.
enum ImportPrinter {
    static func lines(_ report: ImportReport) -> [String] {
        var lines = [
            "imported \(report.imported.count) revision\(report.imported.count == 1 ? "" : "s") from \(report.tool) (\(report.source)) into migrations/"
        ]
        for revision in report.imported {
            let parents = revision.parents.isEmpty ? "root" : "parent " + revision.parents.joined(separator: ", ")
            lines.append(
                "  \(revision.file)  (\(parents)\(revision.transactional ? "" : ", transaction: false")\(revision.reversible ? "" : ", irreversible"))  from \(revision.source)"
            )
        }
        let converted = report.imported.filter { !$0.conversions.isEmpty }
        if !converted.isEmpty {
            lines.append("converted:")
            for revision in converted {
                for conversion in revision.conversions { lines.append("  \(revision.revision): \(conversion)") }
            }
        }
        let toFill = report.imported.filter { $0.toFillIn != nil }
        if !toFill.isEmpty {
            lines.append(
                "to fill in (written with an empty up section, so they refuse to apply until you write their SQL):")
            for revision in toFill { lines.append("  \(revision.file): \(revision.toFillIn ?? "")") }
        }
        if !report.notImported.isEmpty {
            lines.append("not imported:")
            for skipped in report.notImported { lines.append("  \(skipped.source): \(skipped.reason)") }
        }
        lines.append("heads: \(report.heads.joined(separator: ", "))")
        lines.append(
            "next: review the files, commit them, then record what each database already runs: see baseline (coming)")
        return lines
    }
}
