/// Logs a kind of event in full the first few times, then one time in `every`, at most one line
/// a `minimumInterval`, with the exact count so far, so a misbehaving peer cannot flood the log
/// (the counters keep the exact numbers).
public struct RateLimitedLog {
    private var seen: [String: Int] = [:]
    private var lastPrinted: [String: Double] = [:]
    public let fullCount: Int
    public let every: Int
    public let minimumInterval: Double
    private let clock: () -> Double
    private let write: (String) -> Void

    public init(fullCount: Int = 10, every: Int = 1000, minimumInterval: Double = 1,
                clock: @escaping () -> Double = monotonicSeconds,
                write: @escaping (String) -> Void = { Console.error($0) }) {
        self.fullCount = fullCount
        self.every = every
        self.minimumInterval = minimumInterval
        self.clock = clock
        self.write = write
    }

    public mutating func log(kind: String, _ message: @autoclosure () -> String) {
        let n = seen[kind, default: 0] + 1
        seen[kind] = n
        if n <= fullCount {
            write(message())
        } else if n % every == 0 {
            let now = clock()
            if let last = lastPrinted[kind], now - last < minimumInterval { return }
            lastPrinted[kind] = now
            write("\(message()) (\(n) so far)")
        }
    }
}
