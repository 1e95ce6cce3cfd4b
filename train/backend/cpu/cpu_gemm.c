/*
 * cpu_gemm.c — the fp32 GEMM the fast CPU backend calls: dnnl_sgemm (oneDNN, the best
 * fp32 GEMM on Sapphire Rapids, see shared/docs/cpu-ceilings.md) when the build has
 * oneDNN, else OpenBLAS cblas_sgemm. Row-major, transposes by flag, never by copy.
 *
 * Threads. oneDNN's sgemm uses OpenMP (our thread count, set at backend creation) and runs
 * single-threaded when called from inside a parallel region (attention calls it per
 * (sequence, head) from a parallel loop). OpenBLAS here is the pthread build, whose
 * threads know nothing of OpenMP: with both pools active, OpenMP workers spinning after a
 * region and OpenBLAS workers fight for the same cores (the oversubscription trap). So
 * OpenBLAS is kept at ONE thread for good, and cpu_sgemm itself splits the rows of C over
 * the OpenMP threads, one single-threaded cblas_sgemm per thread; every element is still
 * computed by one thread with a fixed partition, so results stay deterministic.
 */
#include <omp.h>

#include "cpu_internal.h"

#if defined(MRPC_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#else
#include <cblas.h>
#endif

#if !defined(MRPC_HAVE_ONEDNN)
static void blas(char transa, char transb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, transa == 'T' ? CblasTrans : CblasNoTrans, transb == 'T' ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

void cpu_sgemm(char transa, char transb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) {
        return;
    }
#if defined(MRPC_HAVE_ONEDNN)
    dnnl_sgemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt <= 1 || M < 16 * nt) {
        blas(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), n = omp_get_num_threads();
        int q = M / n, r = M % n;
        int lo = tid * q + (tid < r ? tid : r), hi = lo + q + (tid < r ? 1 : 0);
        /* rows lo..hi-1 of op(A): row offset when A is not transposed, column offset when it is */
        const float *Ap = transa == 'T' ? A + lo : A + (size_t)lo * lda;
        if (hi > lo) {
            blas(transa, transb, hi - lo, N, K, alpha, Ap, lda, B, ldb, beta, C + (size_t)lo * ldc, ldc);
        }
    }
#endif
}

void cpu_blas_init_threads(void) {
#if !defined(MRPC_HAVE_ONEDNN)
    openblas_set_num_threads(1); /* threads come from OpenMP (cpu_sgemm splits the rows) */
#endif
}
