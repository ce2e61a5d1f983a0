import Foundation

/// What the linear tools (Flyway, dbmate, golang-migrate, goose) have in common: numbered scripts applied in version
/// order, which become a parent chain in that order, each keeping its file stem as its id.
enum LinearImport {
    /// One script of a linear tool, before ids and parents are settled.
    struct Entry {
        /// The file stem, kept as the id when valid (`V12__add_orders`, `20230101120000_create_users`).
        var stem: String
        /// The version's numeric parts (`1.10` is `["1", "10"]`), for the order.
        var version: [String]
        /// The description, for the message.
        var description: String
        /// The file read.
        var source: String
        var up: String
        var down: String?
        var transactional = true
        var conversions: [String] = []
        /// Placeholders the tool would replace at run time (`${schema}`), which orchestrate does not.
        var placeholders: [String] = []

        init(stem: String, version: [String], description: String, source: String, up: String, down: String? = nil) {
            self.stem = stem
            self.version = version
            self.description = description
            self.source = source
            self.up = up
            self.down = down
        }

        /// An entry from a file's up and down lines (down nil when the file has no down section), with the blank
        /// lines around each section trimmed.
        init(
            stem: String, version: String, description: String, source: String, upLines: [Substring],
            downLines: [Substring]?
        ) {
            self.init(
                stem: stem, version: [version], description: description, source: source,
                up: ForeignSQL.trimmedBlankLines(upLines.joined(separator: "\n")),
                down: downLines.map { ForeignSQL.trimmedBlankLines($0.joined(separator: "\n")) })
        }
    }

    /// Whether version `a` comes before `b`: parts compared as numbers, trailing zero parts ignored (`1.0` is `1`).
    static func precedes(_ a: [String], _ b: [String]) -> Bool {
        let (left, right) = (normalized(a), normalized(b))
        for (x, y) in zip(left, right) where x != y {
            return x.count != y.count ? x.count < y.count : x < y
        }
        return left.count < right.count
    }

    /// `version` without leading zeros in its parts nor trailing zero parts: equal versions are equal arrays.
    static func normalized(_ version: [String]) -> [String] {
        var parts = version.map { part -> String in
            let trimmed = part.drop(while: { $0 == "0" })
            return trimmed.isEmpty ? "0" : String(trimmed)
        }
        while parts.count > 1, parts.last == "0" { parts.removeLast() }
        return parts
    }

    /// The version a linear tool reads in a file stem, which `import` keeps as the revision id: Flyway's
    /// `V1_1__add_orders` is `["1", "1"]` (`.` and `_` separate parts, `V`, `U` or `B` before, `__` after); dbmate's,
    /// golang-migrate's and goose's `20230101120000_create_users` is `["20230101120000"]` (the leading digits). Nil
    /// when the stem holds no version. `baseline --from` reads revision ids back into versions with it.
    static func version(ofStem stem: String, tool: ForeignTool) -> [String]? {
        switch tool {
        case .alembic:
            return nil
        case .flyway:
            guard let prefix = stem.first, "VUB".contains(prefix), let separator = stem.range(of: "__") else {
                return nil
            }
            let text = stem[stem.index(after: stem.startIndex)..<separator.lowerBound]
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
                .flatMap { $0.split(separator: "_", omittingEmptySubsequences: false) }
            guard !parts.isEmpty, parts.allSatisfy(isNumber) else { return nil }
            return parts.map(String.init)
        case .dbmate, .golangMigrate, .goose:
            let digits = stem.prefix(while: { $0.isASCII && $0.isNumber })
            return digits.isEmpty ? nil : [String(digits)]
        }
    }

    /// Whether `text` is a non-empty run of ASCII digits.
    static func isNumber(_ text: Substring) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The plan for `entries` (any order): sorted by version, a second file with an equal version skipped, ids kept
    /// or sanitized, chained, and each revision's transaction mode settled as the tool would.
    static func plan(_ tool: ForeignTool, _ entries: [Entry], skipped: [ImportReport.Skipped]) -> ImportPlan {
        var plan = ImportPlan(tool: tool)
        plan.skipped = skipped
        let sorted = entries.sorted {
            precedes($0.version, $1.version) || (!precedes($1.version, $0.version) && $0.source < $1.source)
        }
        var taken = Set<String>()
        var previous: Entry? = nil
        for entry in sorted {
            if let previous, normalized(previous.version) == normalized(entry.version) {
                plan.skipped.append(
                    .init(
                        source: entry.source,
                        reason:
                            "same version as \(previous.source) (\(tool.rawValue) refuses two migrations with one version); import the one that ran, then add the other as a new revision"
                    ))
                continue
            }
            previous = entry
            let (id, note) = ForeignSQL.id(for: entry.stem, taken: &taken)
            let message = entry.description.replacingOccurrences(of: "_", with: " ").trimmingCharacters(
                in: .whitespaces)
            var revision = ImportedRevision(
                id: id, source: entry.source, message: message.isEmpty ? nil : message,
                up: entry.up, down: entry.down)
            revision.transactional = entry.transactional
            revision.conversions = entry.conversions + (note.map { [$0] } ?? [])
            plan.revisions.append(revision)
        }
        ForeignSQL.chain(&plan.revisions)
        for index in plan.revisions.indices {
            let entry = sorted.first { $0.source == plan.revisions[index].source }
            if let placeholders = entry?.placeholders, !placeholders.isEmpty {
                let names = placeholders.joined(separator: ", ")
                if let down = plan.revisions[index].down {
                    plan.revisions[index].down =
                        "-- orchestrate import: the down script uses \(names), which orchestrate does not replace; write it out.\n"
                        + ForeignSQL.commentedOut(down) + "\n"
                }
                ForeignSQL.holdBack(
                    &plan.revisions[index],
                    because:
                        "it uses \(names), which \(tool.rawValue) replaced when it ran and orchestrate does not: write the values in"
                )
            } else {
                ForeignSQL.settleTransaction(&plan.revisions[index])
            }
        }
        return plan
    }
}
