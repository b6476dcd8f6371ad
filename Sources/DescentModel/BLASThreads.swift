import COpenBLAS

/// The number of threads OpenBLAS may use in this process.
///
/// Descent runs one BLAS thread per process by default, so N workers on N cores do not
/// oversubscribe the machine.
public enum BLASThreads {
    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}
