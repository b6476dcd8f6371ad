import CDNNL
import COpenBLAS
import Synchronization

/// The number of threads the matrix-product libraries may use in this process: OpenBLAS's, and
/// OpenMP's, which oneDNN runs on.
///
/// Descent runs one thread per process by default, so N workers on N cores do not
/// oversubscribe the machine. OpenBLAS's count is global; OpenMP's belongs to each thread that
/// calls into it, so a `GradientEngine` on oneDNN applies it (`applyToCurrentThread`) before each pass.
public enum BLASThreads {
    private static let requested = Atomic<Int>(1)
    private static let setOpenMPThreads = descent_omp_set_num_threads_function()

    public static func set(_ count: Int) {
        let count = max(1, count)
        openblas_set_num_threads(Int32(count))
        requested.store(count, ordering: .relaxed)
        applyToCurrentThread()
    }

    /// The thread count of the last `set` (1 before any), as OpenMP's for the calling thread.
    @inline(__always)
    public static func applyToCurrentThread() {
        setOpenMPThreads?(Int32(requested.load(ordering: .relaxed)))
    }
}
