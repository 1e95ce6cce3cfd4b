# cuda_bench.cmake — mrpc-cuda-bench (bench/cuda_bench.c): training-step throughput on the
# CUDA backend, the counterpart of bench/torch_cuda_step.py (tests/gpu/run.sh runs both).
# Included from bench/CMakeLists.txt; the guard makes a second include harmless. The
# binary lands in <build>/bench/.
if(MRPC_HAVE_CUDA AND NOT TARGET mrpc-cuda-bench)
  add_executable(mrpc-cuda-bench ${CMAKE_CURRENT_LIST_DIR}/cuda_bench.c)
  mrpc_target_defaults(mrpc-cuda-bench)
  target_link_libraries(mrpc-cuda-bench PRIVATE mrpc_model mrpc_backend_cuda mrpc_optim mrpc_core)
  set_target_properties(mrpc-cuda-bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench
                        CUDA_RUNTIME_LIBRARY Shared)
endif()
