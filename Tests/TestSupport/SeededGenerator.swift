/// A small deterministic generator (SplitMix64): the same seed gives the same graphs, schemas and fuzzed projects on
/// every machine. The one seeded generator of the tests.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    /// Starts from `state` as it is.
    public init(state: UInt64) { self.state = state }

    /// Starts one step past `seed`, as the fuzz suites always have (their seeds name the projects they made).
    public init(seed: UInt64) { self.init(state: seed &+ 0x9E37_79B9_7F4A_7C15) }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
