#!/usr/bin/python3
"""transform.py — turns one CUDA source of train/backend/cuda into C++ for the CPU emulator.

    transform.py SRC.cu OUT.cpp

Two rewrites, nothing else: a kernel launch `k<<<grid, block, smem, stream>>>(args)` becomes
`emu::launcher_("k", k, grid, block, smem, stream)(args)`, and `extern __shared__ float sm[];`
becomes a pointer to the launch's dynamic shared memory. cuemu.h (included first) maps the
rest of the CUDA dialect (threadIdx, __syncthreads, __shfl_xor_sync, ...). A #line directive
keeps compiler messages and debugger lines pointing at the .cu file.
"""
import re
import sys


def main():
    src, dst = sys.argv[1], sys.argv[2]
    text = open(src, encoding="utf-8").read()
    text = re.sub(r"extern __shared__ float (\w+)\[\];", r"float *\1 = (float *)emu::dyn_smem();", text)
    text = re.sub(r"(\w+)<<<(.+?)>>>\(", lambda m: 'emu::launcher_("%s", %s, %s)(' % (m.group(1), m.group(1),
                                                                                      m.group(2)), text, flags=re.S)
    with open(dst, "w", encoding="utf-8") as f:
        f.write('#include "cuemu.h"\n#line 1 "%s"\n' % src)
        f.write(text)


if __name__ == "__main__":
    main()
