/* CPU emulator stand-in for the CUDA header of the same name (tests/cuda/emu). */
#include "cuda_runtime_api.h"
