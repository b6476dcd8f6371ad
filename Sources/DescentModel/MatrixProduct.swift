import CDNNL
import COpenBLAS
import DescentCore

/// Row-major single-precision matrix products on the chosen backend:
/// `C = alpha * op(A) * op(B) + beta * C`, with `op(A)` `m x k`, `op(B)` `k x n` and `C` `m x n`,
/// as `cblas_sgemm(CblasRowMajor, ...)` defines them (`dnnl_sgemm` takes the same row-major form).
struct MatrixProduct {
    let backend: ComputeBackend

    @inline(__always)
    func callAsFunction(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        switch backend {
        case .openblas:
            cblas_sgemm(
                CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
        case .onednn:
            let status = dnnl_sgemm(
                transposeA ? 84 : 78, transposeB ? 84 : 78,  // "T" or "N"
                dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb),
                beta, c, dnnl_dim_t(ldc))
            // Only invalid dimensions make dnnl_sgemm fail; the engine derives them from its shape.
            precondition(status == dnnl_success, "dnnl_sgemm failed (\(status)) for \(m)x\(n)x\(k)")
        }
    }
}
