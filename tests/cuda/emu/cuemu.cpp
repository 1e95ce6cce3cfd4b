/*
 * cuemu.cpp — the CPU emulator's runtime (see cuemu.h): the fiber scheduler behind kernel
 * launches, and the subset of the CUDA runtime and cuBLAS that train/backend/cuda calls,
 * on host memory (include/ holds the matching headers). One device by default;
 * CUEMU_DEVICES=n pretends n devices, CUEMU_NO_DEVICE=1 none.
 */
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cuemu.h"
#include "cublas_v2.h"
#include "cuda_runtime_api.h"

namespace emu {
uint3 block_idx;
dim3 block_dim, grid_dim;

struct Bar { int expected = 0, arrived = 0; unsigned gen = 0; };
struct Bar;
struct Fiber { ucontext_t ctx; uint3 idx; int done; int warp, lane; Bar *wait_bar; unsigned wait_gen; };

static std::vector<Fiber> fibers;
static std::vector<char *> stacks;
static const size_t STACK = 128 * 1024;
static ucontext_t sched_ctx;
static Fiber *cur;
static Bar block_bar;
static std::vector<Bar> warp_bars;
static std::vector<uint64_t> wbuf;
static std::vector<unsigned char> smem_buf;
static unsigned long events;
static void (*g_body)(void *);
static void *g_ctx;
static const char *g_name;
long launches;

const uint3 &thread_idx() { return cur->idx; }
void *dyn_smem() { return smem_buf.data(); }

static void yield() { swapcontext(&cur->ctx, &sched_ctx); }

static void release_if_complete(Bar &b) {
    if (b.arrived > 0 && b.arrived >= b.expected) {
        b.arrived = 0;
        b.gen++;
        events++;
    }
}

static void bar_wait(Bar &b) {
    unsigned g = b.gen;
    b.arrived++;
    events++;
    release_if_complete(b);
    while (b.gen == g) {
        cur->wait_bar = &b;
        cur->wait_gen = g;
        yield();
    }
    cur->wait_bar = nullptr;
}

void syncthreads() { bar_wait(block_bar); }

void warp_exchange(const void *in, void *out, int size, int x) {
    int w = cur->warp, l = cur->lane;
    int src = l ^ x;
    std::memcpy(&wbuf[(size_t)w * 32 + l], in, (size_t)size);
    bar_wait(warp_bars[w]);
    if (src >= 32 || (size_t)w * 32 + src >= fibers.size()) { fprintf(stderr, "cuemu: shuffle out of warp\n"); abort(); }
    std::memcpy(out, &wbuf[(size_t)w * 32 + src], (size_t)size);
    bar_wait(warp_bars[w]);
}

static void entry() {
    g_body(g_ctx);
    Fiber *f = cur;
    f->done = 1;
    events++;
    block_bar.expected--;
    warp_bars[f->warp].expected--;
    release_if_complete(block_bar);
    release_if_complete(warp_bars[f->warp]);
}

void launch_impl(void (*body)(void *), void *ctx, dim3 g, dim3 b, size_t smem, const char *name) {
    launches++;
    size_t nt = (size_t)b.x * b.y * b.z;
    if (nt == 0 || nt > 1024 || g.x == 0 || g.y == 0 || g.z == 0 || g.y > 65535 || g.z > 65535) {
        fprintf(stderr, "cuemu: bad launch config for %s: grid %u %u %u block %u %u %u\n", name, g.x, g.y, g.z, b.x, b.y, b.z);
        abort();
    }
    if (smem > 227 * 1024) { fprintf(stderr, "cuemu: %s asks %zu bytes of shared memory\n", name, smem); abort(); }
    g_body = body; g_ctx = ctx; g_name = name;
    block_dim = b; grid_dim = g;
    fibers.assign(nt, Fiber());
    while (stacks.size() < nt) stacks.push_back((char *)malloc(STACK));
    size_t nw = (nt + 31) / 32;
    warp_bars.assign(nw, Bar());
    wbuf.assign(nw * 32, 0);
    smem_buf.assign(smem + 16, 0xff); /* uninitialised shared memory reads as NaN */
    for (unsigned bz = 0; bz < g.z; bz++)
        for (unsigned by = 0; by < g.y; by++)
            for (unsigned bx = 0; bx < g.x; bx++) {
                block_idx = {bx, by, bz};
                block_bar = Bar(); block_bar.expected = (int)nt;
                for (size_t w = 0; w < nw; w++) { warp_bars[w] = Bar(); warp_bars[w].expected = (int)std::min<size_t>(32, nt - w * 32); }
                std::memset(smem_buf.data(), 0xff, smem_buf.size());
                for (size_t t = 0; t < nt; t++) {
                    Fiber &f = fibers[t];
                    f.done = 0;
                    f.wait_bar = nullptr;
                    f.idx = {(unsigned)(t % b.x), (unsigned)((t / b.x) % b.y), (unsigned)(t / ((size_t)b.x * b.y))};
                    f.warp = (int)(t / 32); f.lane = (int)(t % 32);
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = stacks[t];
                    f.ctx.uc_stack.ss_size = STACK;
                    f.ctx.uc_link = &sched_ctx;
                    makecontext(&f.ctx, entry, 0);
                }
                size_t alive = nt;
                while (alive) {
                    unsigned long before = events;
                    for (size_t t = 0; t < nt; t++) {
                        if (fibers[t].done) continue;
                        if (fibers[t].wait_bar && fibers[t].wait_bar->gen == fibers[t].wait_gen) continue;
                        cur = &fibers[t];
                        swapcontext(&sched_ctx, &fibers[t].ctx);
                        if (fibers[t].done) alive--;
                    }
                    if (alive && events == before) {
                        fprintf(stderr, "cuemu: deadlock in %s block (%u,%u,%u)\n", name, bx, by, bz);
                        abort();
                    }
                }
            }
}
} // namespace emu

/* ---- runtime ---- */
static cudaError_t last_err = cudaSuccess;
static cudaError_t fail(cudaError_t e) { last_err = e; return e; }
extern "C" {
static int ndev(void) { return getenv("CUEMU_NO_DEVICE") ? 0 : getenv("CUEMU_DEVICES") ? atoi(getenv("CUEMU_DEVICES")) : 1; }
cudaError_t cudaGetDeviceCount(int *n) { *n = ndev(); return cudaSuccess; }
cudaError_t cudaGetLastError(void) { cudaError_t e = last_err; last_err = cudaSuccess; return e; }
cudaError_t cudaPeekAtLastError(void) { return last_err; }
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated error"; }
cudaError_t cudaGetDevice(int *d) { *d = 0; return cudaSuccess; }
cudaError_t cudaSetDevice(int d) { return d >= 0 && d < ndev() ? cudaSuccess : fail(cudaErrorInvalidValue); }
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int d) {
    if (d < 0 || d >= ndev()) return fail(cudaErrorInvalidValue);
    memset(p, 0, sizeof *p); strcpy(p->name, "cuemu"); p->major = 9; p->minor = 0; p->sharedMemPerBlockOptin = 227 * 1024;
    return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t *s) { *s = (cudaStream_t)malloc(1); return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) { free(s); return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaMalloc(void **p, size_t n) {
    *p = aligned_alloc(256, (n + 255) / 256 * 256);
    if (!*p) return fail(cudaErrorMemoryAllocation);
    memset(*p, 0xa5, n); /* garbage, as fresh device memory */
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) { free(p); return cudaSuccess; }
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t) { memset(p, v, n); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind, cudaStream_t) { memmove(d, s, n); return cudaSuccess; }
cudaError_t cudaFuncSetAttribute(const void *, enum cudaFuncAttribute, int v) { return v <= 227 * 1024 ? cudaSuccess : fail(cudaErrorInvalidValue); }

/* ---- cuBLAS ---- */
cublasStatus_t cublasCreate(cublasHandle_t *h) { *h = (cublasHandle_t)malloc(1); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasDestroy(cublasHandle_t h) { free(h); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }
const char *cublasGetStatusString(cublasStatus_t s) { return s ? "emulated cublas error" : "success"; }
static float ld(const void *p, cudaDataType_t t, size_t i) {
    if (t == CUDA_R_32F) return ((const float *)p)[i];
    uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16; float f; memcpy(&f, &u, 4); return f;
}
long gemm_flops;
cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType_t at, int lda, const void *B,
                            cudaDataType_t bt, int ldb, const void *beta, void *C, cudaDataType_t ct, int ldc,
                            cublasComputeType_t, cublasGemmAlgo_t) {
    if (ct != CUDA_R_32F || at != bt) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (m < 0 || n < 0 || k < 0 || lda < (ta ? k : m) || ldb < (tb ? n : k) || ldc < m) return CUBLAS_STATUS_INVALID_VALUE;
    float al = *(const float *)alpha, be = *(const float *)beta;
    float *c = (float *)C;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float acc = 0.0f;
            for (int l = 0; l < k; l++) {
                float a = ta == CUBLAS_OP_N ? ld(A, at, (size_t)i + (size_t)l * lda) : ld(A, at, (size_t)l + (size_t)i * lda);
                float b = tb == CUBLAS_OP_N ? ld(B, bt, (size_t)l + (size_t)j * ldb) : ld(B, bt, (size_t)j + (size_t)l * ldb);
                acc += a * b;
            }
            float *cc = &c[(size_t)i + (size_t)j * ldc];
            *cc = be == 0.0f ? al * acc : al * acc + be * *cc; /* beta 0: C is not read */
        }
    gemm_flops += 2L * m * n * k;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemv(cublasHandle_t, cublasOperation_t t, int m, int n, const float *alpha, const float *A,
                           int lda, const float *x, int incx, const float *beta, float *y, int incy) {
    if (t != CUBLAS_OP_N || incx != 1 || incy != 1 || lda < m) return CUBLAS_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < m; i++) {
        float acc = 0.0f;
        for (int j = 0; j < n; j++) acc += A[(size_t)i + (size_t)j * lda] * x[j];
        y[i] = *beta == 0.0f ? *alpha * acc : *alpha * acc + *beta * y[i];
    }
    return CUBLAS_STATUS_SUCCESS;
}
}
