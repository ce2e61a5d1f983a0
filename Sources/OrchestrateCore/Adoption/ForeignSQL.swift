import Foundation
import Migrations

/// What every converter needs: valid ids, a linear history as a parent chain, the transaction mode another tool
/// would have chosen, and statements removed from a script.
enum ForeignSQL {
    /// A valid revision id for `stem` not in `taken` (which it joins), and a report line when it had to be changed.
    ///
    /// A valid stem (`V12__add_orders`, `20230101120000_create_users`) stays as it is; otherwise every character
    /// outside `[A-Za-z0-9_.-]` becomes `_`, an id must start with a letter or digit (`r` is prepended when not),
    /// and `_2`, `_3`, ... is appended to an id already taken.
    static func id(for stem: String, taken: inout Set<String>) -> (id: String, note: String?) {
        let candidate = sanitized(stem)
        var id = candidate
        var suffix = 2
        while taken.contains(id) {
            id = "\(candidate)_\(suffix)"
            suffix += 1
        }
        taken.insert(id)
        guard id != stem else { return (id, nil) }
        return (
            id,
            "id `\(stem)` is not a valid orchestrate id (\(RevisionID.isValid(stem) ? "already taken" : "letters, digits, `_`, `.`, `-`, starting with a letter or digit")): written as `\(id)`"
        )
    }

    /// `stem` itself when it is a valid revision id; otherwise every character outside `[A-Za-z0-9_.-]` becomes `_`, and
    /// `r` is prepended when it does not start with a letter or digit. `baseline --from` maps the other tool's ids with
    /// it as `import` did.
    static func sanitized(_ stem: String) -> String {
        guard !RevisionID.isValid(stem) else { return stem }
        let scalars = stem.unicodeScalars.map { scalar -> Character in
            let ascii = scalar.isASCII ? Character(scalar) : "_"
            return ascii.isLetter || ascii.isNumber || ascii == "_" || ascii == "." || ascii == "-" ? ascii : "_"
        }
        let candidate = String(scalars)
        return (candidate.first.map { $0.isLetter || $0.isNumber } ?? false) ? candidate : "r" + candidate
    }

    /// Makes `revisions` a chain in their order: each one's parent is the one before.
    static func chain(_ revisions: inout [ImportedRevision]) {
        for index in revisions.indices {
            revisions[index].parents = index == 0 ? [] : [revisions[index - 1].id]
        }
    }

    /// Settles a linear tool's revision the way the tool itself runs it: an explicit `BEGIN; ... COMMIT;` around the
    /// whole script is dropped (orchestrate opens the transaction), and a script holding a statement PostgreSQL cannot
    /// run in a transaction block gets `-- transaction: false` (`Preflight` decides which).
    static func settleTransaction(_ revision: inout ImportedRevision) {
        if let unwrapped = unwrappingTransaction(revision.up) {
            revision.up = unwrapped
            revision.conversions.append(
                "the explicit BEGIN/COMMIT around the up script was removed: orchestrate runs the revision in a transaction of its own"
            )
        }
        if let down = revision.down, let unwrapped = unwrappingTransaction(down) {
            revision.down = unwrapped
            revision.conversions.append(
                "the explicit BEGIN/COMMIT around the down script was removed: orchestrate runs it in a transaction of its own"
            )
        }
        guard revision.transactional else { return }
        let file = MigrationFile(
            revision: revision.id, path: revision.source, parents: revision.parents,
            transactional: true, up: revision.up, down: revision.down, upStartLine: 1,
            downStartLine: revision.down == nil ? nil : 1, checksum: "")
        func statement(_ problem: Preflight.Problem) -> String? {
            if case .needsNoTransaction(let statement) = problem.kind { return statement }
            return nil
        }
        var needs = Preflight.problems(applying: [file]).compactMap(statement)
        if let down = revision.down {
            needs += Preflight.problems(
                reverting: revision.id, down: down, transactional: true, path: revision.source,
                firstLine: 1
            ).compactMap(statement)
        }
        guard let first = needs.first else { return }
        revision.transactional = false
        revision.conversions.append(
            "`\(first)` cannot run in a transaction block: written with `-- transaction: false` (statements run one by one, in autocommit)"
        )
    }

    /// `sql` without a `BEGIN`/`START TRANSACTION` first statement and a `COMMIT`/`END` last statement, when both are
    /// there and nothing else in between ends the transaction; nil otherwise.
    static func unwrappingTransaction(_ sql: String) -> String? {
        let statements = SQLSplitter.split(sql)
        guard statements.count >= 2, let first = statements.first, let last = statements.last else { return nil }
        let opening = leadingWords(first.text, count: 2)
        let closing = leadingWords(last.text, count: 1)
        guard opening.first == "BEGIN" || opening == ["START", "TRANSACTION"],
            closing == ["COMMIT"] || closing == ["END"]
        else { return nil }
        let inner = statements.dropFirst().dropLast()
        guard
            !inner.contains(where: {
                ["BEGIN", "COMMIT", "END", "ROLLBACK", "ABORT", "START"].contains(
                    leadingWords($0.text, count: 1).first ?? "")
            })
        else { return nil }
        return removing([first, last], from: sql)
    }

    /// The first `count` words of a statement, upper-cased, after its leading comments.
    static func leadingWords(_ text: String, count: Int) -> [String] {
        var rest = Substring(text)
        while true {
            rest = rest.drop(while: { $0.isWhitespace })
            if rest.hasPrefix("--") {
                rest = rest.drop(while: { $0 != "\n" })
            } else if rest.hasPrefix("/*"), let end = rest.range(of: "*/") {
                rest = rest[end.upperBound...]
            } else {
                break
            }
        }
        return rest.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).prefix(count).map {
            $0.uppercased()
        }
    }

    /// `sql` without `statements` (found in it by `SQLSplitter`), each with its `;` and the rest of its line when
    /// that is blank.
    static func removing(_ statements: [SQLStatement], from sql: String) -> String {
        var scalars = Array(sql.unicodeScalars)
        for statement in statements.sorted(by: { $0.offset > $1.offset }) {
            var end = statement.offset + statement.text.unicodeScalars.count
            var probe = end
            while probe < scalars.count, scalars[probe] == " " || scalars[probe] == "\t" || scalars[probe] == "\n" {
                probe += 1
            }
            if probe < scalars.count, scalars[probe] == ";" { end = probe + 1 }
            var lineEnd = end
            while lineEnd < scalars.count, scalars[lineEnd] == " " || scalars[lineEnd] == "\t" { lineEnd += 1 }
            if lineEnd < scalars.count, scalars[lineEnd] == "\n" {
                end = lineEnd + 1
            } else if lineEnd == scalars.count {
                end = lineEnd
            }
            // A statement between blank lines leaves one blank line, not two.
            if statement.offset >= 2, scalars[statement.offset - 1] == "\n", scalars[statement.offset - 2] == "\n",
                end < scalars.count, scalars[end] == "\n"
            {
                end += 1
            }
            scalars.removeSubrange(statement.offset..<end)
        }
        return trimmedBlankLines(String(String.UnicodeScalarView(scalars)))
    }

    /// `text` without blank lines at its start and end, ending with one newline (or empty).
    static func trimmedBlankLines(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let first = lines.first, first.allSatisfy(\.isWhitespace) { lines.removeFirst() }
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    /// Whether `sql` holds no statement (only blank lines and comments), by `MigrationFile`'s own rule.
    static func hasNoStatement(_ sql: String) -> Bool {
        MigrationFile(
            revision: "x", path: "x", parents: [], transactional: true, up: sql, down: nil, upStartLine: 1,
            downStartLine: nil, checksum: ""
        ).hasEmptyUp
    }

    /// `sql` as comment lines, for a script kept for reference in a revision that must be filled in.
    static func commentedOut(_ sql: String) -> String {
        trimmedBlankLines(sql).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "--" : "-- " + $0 }.joined(separator: "\n")
    }

    /// The `${name}` placeholders in `sql` (Flyway's, goose's ENVSUB), each once, in order.
    static func placeholders(in sql: String) -> [String] {
        var found: [String] = []
        var rest = Substring(sql)
        while let start = rest.range(of: "${") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
            let name = "${" + rest[start.upperBound..<end] + "}"
            if !found.contains(name) { found.append(name) }
            rest = rest[rest.index(after: end)...]
        }
        return found
    }

    /// Makes `revision` one that refuses to apply until filled in: its up SQL is kept below as comments.
    static func holdBack(_ revision: inout ImportedRevision, because reason: String) {
        revision.toFillIn = reason
        var up =
            "-- orchestrate import: \(reason).\n-- This revision refuses to apply until its SQL is written below `-- migrate:up`.\n"
        if !revision.up.isEmpty { up += "-- The original script, for reference:\n" + commentedOut(revision.up) + "\n" }
        revision.up = up
    }
}
