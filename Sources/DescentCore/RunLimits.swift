/// The largest values a run accepts, in a config file, on the command line and in the settings a
/// worker receives from its coordinator. Each is far beyond what an MLP on MNIST needs; past them
/// a run's own arithmetic (samples per epoch, steps in all, the parameter count) could overflow,
/// or its buffers could not be allocated, and the process would trap instead of saying why.
///
/// With every value within these limits, the largest products a run
/// forms stay below 2^63: 60,000 images x 10^6 repeats = 6 x 10^10 samples an epoch, times
/// 10^6 epochs = 6 x 10^16 samples (and at most that many steps).
public enum RunLimits {
    /// Workers (ranks) in one run: each is a bit of the u64 that names a step's participants.
    public static let workers = 64
    public static let epochs = 1_000_000
    /// A global batch, or one worker's share of it.
    public static let batch = 1 << 20
    public static let trainRepeat = 1_000_000
    public static let threads = 1024
    public static let hiddenLayers = 64
    public static let layerWidth = 1 << 16
    /// 2^28 float32 parameters: 1 GiB, and as much again for the gradient.
    public static let parameters = 1 << 28

    /// The parameter count of an MLP of these layer sizes (weights and biases), or nil when it
    /// exceeds `parameters` (computed without overflow for any sizes).
    public static func parameterCount(inputs: Int, hidden: [Int], classes: Int) -> Int? {
        let sizes = [inputs] + hidden + [classes]
        guard sizes.allSatisfy({ $0 >= 1 }) else { return nil }
        var total = 0
        for (fanIn, fanOut) in zip(sizes, sizes.dropFirst()) {
            let (weights, overflow) = fanIn.multipliedReportingOverflow(by: fanOut)
            guard !overflow, weights <= parameters, total <= parameters - weights - fanOut else { return nil }
            total += weights + fanOut
        }
        return total
    }
}
