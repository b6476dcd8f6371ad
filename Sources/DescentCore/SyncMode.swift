/// When the coordinator applies the workers' gradients (`training.sync` in the config).
///
/// - `sync`: every step waits for every worker's share of its global batch; the update is their
///   sample-weighted mean (no staleness).
/// - `async`: each worker computes a batch of its own and the coordinator applies each gradient as
///   it arrives, as one update at the rate of the global step at which it is applied, then sends
///   that worker the current parameters and its next batch. Staleness is unbounded.
/// - `bounded(k)`: stale-synchronous. Updates are still the sync mode's (the mean of all shares of
///   global batch t, applied in step order), but a worker may start its share of step t as soon as
///   step t - k has been applied, with the parameters of that moment: no worker runs more than k
///   steps ahead of the slowest, and every gradient's staleness is at most k. `bounded(0)` is `sync`.
public enum SyncMode: Sendable, Equatable, Hashable, CustomStringConvertible {
    case sync
    case async
    case bounded(staleness: Int)

    /// The names `training.sync` takes.
    public static let names = ["sync", "async", "bounded"]

    /// The largest staleness bound `bounded` takes: the coordinator keeps a sum of the parameters'
    /// size (two buffers) for each of the k + 1 steps that may be in flight, 80 MB at k = 100 for
    /// the reference model.
    public static let largestStaleness = 100

    /// Whether more than one update can be in flight (the modes that record staleness).
    public var isPipelined: Bool { self != .sync }

    /// `sync`, `async`, or `bounded:K` (the form `descent bench distributed --sync` takes).
    public var description: String {
        switch self {
        case .sync: return "sync"
        case .async: return "async"
        case .bounded(let k): return "bounded:\(k)"
        }
    }

    /// Parses `sync`, `async` or `bounded:K`; nil when it is none of them.
    public init?(parsing text: String) {
        switch text {
        case "sync": self = .sync
        case "async": self = .async
        default:
            guard text.hasPrefix("bounded:"), let k = Int(text.dropFirst("bounded:".count)),
                  (0...Self.largestStaleness).contains(k) else { return nil }
            self = .bounded(staleness: k)
        }
    }
}
