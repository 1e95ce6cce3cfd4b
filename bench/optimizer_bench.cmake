# optimizer_bench.cmake — the optimizer benchmarks (bench/optimizer_*), included from
# optimize/CMakeLists.txt. The full runs are by hand (bench/optimizer_quality.sh,
# bench/optimizer_emit_time.sh); ctest only runs a tiny smoke version (label bench).
include_guard(GLOBAL)

add_executable(optimizer_quality ${CMAKE_CURRENT_LIST_DIR}/optimizer_quality.c)
mrpc_target_defaults(optimizer_quality)
target_link_libraries(optimizer_quality PRIVATE mrpc_bo)

add_test(NAME optimizer_quality_smoke
  COMMAND optimizer_quality --seeds 1 --evals 8 --q 1,4 --functions branin,mrpc3,stage3-sd12)
set_tests_properties(optimizer_quality_smoke PROPERTIES LABELS "bench;unit" TIMEOUT 120)

# Time to emit a wave of 8 from N past runs, through real HDF5 records and the binary.
add_executable(optimizer_emit_time ${CMAKE_CURRENT_LIST_DIR}/optimizer_emit_time.c)
mrpc_target_defaults(optimizer_emit_time)
target_link_libraries(optimizer_emit_time PRIVATE mrpc_optimize mrpc_fake_runs)
add_dependencies(optimizer_emit_time mrpc-optimize)

add_test(NAME optimizer_emit_time_smoke
  COMMAND optimizer_emit_time $<TARGET_FILE:mrpc-optimize> --records 40 --repeats 1
          --dir ${PROJECT_BINARY_DIR}/test-tmp/optimizer_emit_time_smoke)
set_tests_properties(optimizer_emit_time_smoke PROPERTIES LABELS "bench;unit" TIMEOUT 120)

# Successive halving vs plain waves on a learning-curve simulator, through the real
# planning code (bench/fidelity_bench.sh adds Optuna's pruned TPE; by hand, not a test).
add_executable(fidelity_bench ${CMAKE_CURRENT_LIST_DIR}/fidelity_bench.c)
mrpc_target_defaults(fidelity_bench)
target_link_libraries(fidelity_bench PRIVATE mrpc_optimize)
