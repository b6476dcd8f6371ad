import CLinuxSync
import Foundation

/// Keeps a process's threads on one CPU: workers that signal each other through shared memory
/// then wake on a warm core instead of being moved around by the scheduler.
public enum CPUPinning {
    /// Pins the calling thread, and every thread it starts afterwards, to `cpu`.
    public static func pin(toCPU cpu: Int) throws {
        guard descent_pin_to_cpu(Int32(cpu)) == 0 else {
            throw CPUPinningError(cpu: cpu, code: errno)
        }
    }

    /// The CPU for worker `rank` of `workers` when there are several workers and a CPU for each;
    /// nil otherwise (one worker, or more workers than CPUs: the scheduler does better then,
    /// as measured by `descent bench distributed`).
    public static func cpu(forRank rank: Int, workers: Int, cpus: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int? {
        workers >= 2 && workers <= cpus ? rank % cpus : nil
    }
}

/// A CPU a process could not be pinned to.
public struct CPUPinningError: Error, CustomStringConvertible {
    public var cpu: Int
    public var code: Int32
    public var description: String { "cannot pin to CPU \(cpu): \(String(cString: strerror(code)))" }
}
