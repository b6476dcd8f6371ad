import DescentCore

/// Logs a kind of event in full the first few times, then only every `every`-th time, so a
/// misbehaving peer cannot flood the log (the counters keep the exact numbers).
struct RateLimitedLog {
    private var seen: [String: Int] = [:]
    let fullCount: Int
    let every: Int

    init(fullCount: Int = 10, every: Int = 1000) {
        self.fullCount = fullCount
        self.every = every
    }

    mutating func log(kind: String, _ message: @autoclosure () -> String) {
        let n = seen[kind, default: 0] + 1
        seen[kind] = n
        if n <= fullCount || n % every == 0 {
            Console.error(n <= fullCount ? message() : "\(message()) (\(n) so far)")
        }
    }
}
