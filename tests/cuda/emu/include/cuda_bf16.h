/* empty: the emulated kernels use integer bf16 rounding */
