# Fuzzing the run-record reader (mrpc_runrec_read) with damaged HDF5 files.
#
# The runrec sources are compiled into the target (rather than linking mrpc_runrec) so
# that the reader carries libFuzzer's coverage and ASan/UBSan instrumentation. libhdf5
# itself is the system library and is not instrumented: its crashes on malformed files
# are caught, but coverage guidance stops at our reader (see docs/run-record.md).
#
# The seeds in corpus/fuzz_runrec/ come from runrec_make_seeds:
#   make -C <fuzz build> runrec_make_seeds &&
#   <fuzz build>/tests/fuzz/runrec_make_seeds tests/fuzz/corpus/fuzz_runrec
set(_runrec_dir "${PROJECT_SOURCE_DIR}/pipeline/runrec")
mrpc_add_fuzz(fuzz_runrec
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_runrec.c ${_runrec_dir}/runrec.c ${_runrec_dir}/runrec_h5.c
          ${_runrec_dir}/runrec_read.c
  LIBS mrpc_core mrpc::hdf5)
if(MRPC_FUZZ)
  target_include_directories(fuzz_runrec PRIVATE ${_runrec_dir})
  add_executable(runrec_make_seeds ${CMAKE_CURRENT_SOURCE_DIR}/runrec_make_seeds.c)
  mrpc_target_defaults(runrec_make_seeds)
  target_link_libraries(runrec_make_seeds PRIVATE mrpc_runrec)
endif()
