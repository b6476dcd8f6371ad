/// The library that runs a model's matrix products.
///
/// Every process of one run must use the same backend: the two round differently, so a worker on
/// one and a coordinator on the other would not reproduce a one-process run. The coordinator
/// sends its backend to every worker in the run settings.
public enum ComputeBackend: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The system OpenBLAS (`cblas_sgemm`), with the kernels `OPENBLAS_CORETYPE` selects.
    case openblas
    /// oneDNN (`dnnl_sgemm`), which picks the processor's widest vector code (AVX-512 where there is
    /// one) at run time.
    case onednn

    /// oneDNN: on the development machine it runs a training step about 1.6x to 2x faster than
    /// OpenBLAS (`descent bench compute` measures both side by side).
    public static let `default`: ComputeBackend = .onednn

    public var description: String { rawValue }

    /// The accepted spellings, for error messages: "openblas, onednn".
    public static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
