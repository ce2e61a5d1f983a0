/// "Did you mean …?" for a mistyped name: the closest of the known names by edit distance.
public enum Suggestion {
    /// The known name closest to `word`, when it is close enough to be a typo (at most a third of its length, and at
    /// least two, edits away; a name that starts with `word` counts too); nil otherwise.
    public static func closest(to word: String, among names: [String]) -> String? {
        guard !word.isEmpty else { return nil }
        let limit = max(2, word.count / 3)
        var best: (name: String, distance: Int)?
        for name in names.sorted() {
            let distance =
                name.hasPrefix(word) && word.count >= 3 ? 1 : editDistance(word.lowercased(), name.lowercased())
            if distance <= limit, distance < (best?.distance ?? Int.max) { best = (name, distance) }
        }
        return best?.name
    }

    /// ` (did you mean `x`?)`, or an empty string.
    public static func didYouMean(_ word: String, among names: [String]) -> String {
        closest(to: word, among: names).map { " (did you mean `\($0)`?)" } ?? ""
    }

    /// Levenshtein distance, with a transposition of two neighbours counting as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
