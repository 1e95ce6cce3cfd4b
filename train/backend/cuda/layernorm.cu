/*
 * layernorm.cu — LayerNorm forward and backward, one warp per row, sums in double as in
 * cpu_ref.c (the op is memory bound; double costs nothing measurable and keeps the GPU
 * within a few float roundings of the reference).
 *
 * Backward: dw/db are column sums over the rows, done without atomics in two passes
 * (per row-chunk partials in double, then a fixed-order sum per column), so results are
 * deterministic. They run BEFORE the dinp kernel because dinp may alias dout.
 */
#include "cuda_common.cuh"
#include "layernorm.cuh"

#define LN_EPS 1e-12
#define LN_ROWS_PER_BLOCK 8      /* warps per block in the row kernels */
#define LN_CHUNK_ROWS 64         /* rows per partial in the dw/db reduction */

/* out [N,C] = (x - mean) * rstd * w + b; mean, rstd [N]. */
__global__ void layernorm_forward_kernel(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                         const float *b, int N, int C) {
    int row = blockIdx.x * LN_ROWS_PER_BLOCK + (int)(threadIdx.x / 32);
    int lane = (int)(threadIdx.x % 32);
    if (row >= N) {
        return;
    }
    const float *x = inp + (size_t)row * C;
    double s = 0.0;
    for (int c = lane; c < C; c += 32) {
        s += x[c];
    }
    double m = warp_sum_d(s) / C;
    double v = 0.0;
    for (int c = lane; c < C; c += 32) {
        double d = x[c] - m;
        v += d * d;
    }
    double var = warp_sum_d(v) / C;                                   /* biased */
    double rs = 1.0 / sqrt(var + LN_EPS);
    float *y = out + (size_t)row * C;
    for (int c = lane; c < C; c += 32) {
        y[c] = (float)((x[c] - m) * rs * w[c] + b[c]);
    }
    if (lane == 0) {
        mean[row] = (float)m;
        rstd[row] = (float)rs;
    }
}

/* Partials of dw = sum_n dout*xhat and db = sum_n dout over row chunk blockIdx.y.
   block (32, 8): column blockIdx.x*32 + tx; part [R, 2, C] doubles. */
__global__ void layernorm_dwdb_partial_kernel(double *part, const float *dout, const float *inp, const float *mean,
                                              const float *rstd, int N, int C) {
    __shared__ double sw[8][33], sb[8][33];
    int tx = (int)threadIdx.x, ty = (int)threadIdx.y;
    int c = blockIdx.x * 32 + tx;
    int r = blockIdx.y;
    int n0 = r * LN_CHUNK_ROWS, n1 = min(N, n0 + LN_CHUNK_ROWS);
    double aw = 0.0, ab = 0.0;
    if (c < C) {
        for (int n = n0 + ty; n < n1; n += 8) {
            double g = dout[(size_t)n * C + c];
            double xh = ((double)inp[(size_t)n * C + c] - (double)mean[n]) * (double)rstd[n];
            aw += g * xh;
            ab += g;
        }
    }
    sw[ty][tx] = aw;
    sb[ty][tx] = ab;
    __syncthreads();
    if (ty == 0 && c < C) {
        for (int k = 1; k < 8; k++) { /* fixed order */
            aw += sw[k][tx];
            ab += sb[k][tx];
        }
        part[((size_t)r * 2 + 0) * C + c] = aw;
        part[((size_t)r * 2 + 1) * C + c] = ab;
    }
}

/* dw[c] += sum_r part[r,0,c]; db[c] += sum_r part[r,1,c] (r ascending). */
__global__ void layernorm_dwdb_final_kernel(float *dw, float *db, const double *part, int R, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) {
        return;
    }
    double aw = 0.0, ab = 0.0;
    for (int r = 0; r < R; r++) {
        aw += part[((size_t)r * 2 + 0) * C + c];
        ab += part[((size_t)r * 2 + 1) * C + c];
    }
    dw[c] += (float)aw;
    db[c] += (float)ab;
}

/* dinp[n,:] = (dxhat - mean(dxhat) - xhat * mean(dxhat*xhat)) * rstd, dxhat = dout*w.
   dinp may alias dout: each element is read and then written by the same lane, after the
   row's sums are complete. */
__global__ void layernorm_dinp_kernel(float *dinp, const float *dout, const float *inp, const float *w,
                                      const float *mean, const float *rstd, int N, int C) {
    int row = blockIdx.x * LN_ROWS_PER_BLOCK + (int)(threadIdx.x / 32);
    int lane = (int)(threadIdx.x % 32);
    if (row >= N) {
        return;
    }
    const float *x = inp + (size_t)row * C;
    const float *g = dout + (size_t)row * C;
    double mu = mean[row], rs = rstd[row];
    double s1 = 0.0, s2 = 0.0;
    for (int c = lane; c < C; c += 32) {
        double xh = (x[c] - mu) * rs;
        double dxh = (double)g[c] * w[c];
        s1 += dxh;
        s2 += dxh * xh;
    }
    double m1 = warp_sum_d(s1) / C, m2 = warp_sum_d(s2) / C;
    float *dx = dinp + (size_t)row * C;
    for (int c = lane; c < C; c += 32) {
        double xh = (x[c] - mu) * rs;
        double dxh = (double)g[c] * w[c];
        dx[c] = (float)((dxh - m1 - xh * m2) * rs);
    }
}

extern "C" void cuda_layernorm_forward(mrpc_backend *be, float *out, float *mean, float *rstd, const float *inp,
                                       const float *w, const float *b, int N, int C) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || N < 1 || C < 1) {
        return;
    }
    unsigned blocks = (unsigned)((N + LN_ROWS_PER_BLOCK - 1) / LN_ROWS_PER_BLOCK);
    layernorm_forward_kernel<<<blocks, 32 * LN_ROWS_PER_BLOCK, 0, cb->stream>>>(out, mean, rstd, inp, w, b, N, C);
    LAUNCH_CHECK(cb, return);
}

extern "C" void cuda_layernorm_backward(mrpc_backend *be, float *dinp, float *dw, float *db, const float *dout,
                                        const float *inp, const float *w, const float *mean, const float *rstd, int N,
                                        int C) {
    cuda_backend *cb = (cuda_backend *)be;
    if (cuda_failed(cb) || N < 1 || C < 1) {
        return;
    }
    int R = (N + LN_CHUNK_ROWS - 1) / LN_CHUNK_ROWS;
    if (!cuda_grow(cb, (void **)&cb->dpart, &cb->dpart_cap, sizeof(double) * 2 * (size_t)R * C)) {
        return;
    }
    /* 1. dw, db (reads dout before the dinp kernel may overwrite it) */
    dim3 pgrid((unsigned)((C + 31) / 32), (unsigned)R);
    layernorm_dwdb_partial_kernel<<<pgrid, dim3(32, 8), 0, cb->stream>>>(cb->dpart, dout, inp, mean, rstd, N, C);
    LAUNCH_CHECK(cb, return);
    layernorm_dwdb_final_kernel<<<(unsigned)((C + 255) / 256), 256, 0, cb->stream>>>(dw, db, cb->dpart, R, C);
    LAUNCH_CHECK(cb, return);
    /* 2. dinp */
    unsigned blocks = (unsigned)((N + LN_ROWS_PER_BLOCK - 1) / LN_ROWS_PER_BLOCK);
    layernorm_dinp_kernel<<<blocks, 32 * LN_ROWS_PER_BLOCK, 0, cb->stream>>>(dinp, dout, inp, w, mean, rstd, N, C);
    LAUNCH_CHECK(cb, return);
}
