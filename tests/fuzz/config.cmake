# Fuzz target for the run config parser (pipeline/config). The sources are compiled in so
# libFuzzer's coverage reaches them.
mrpc_add_fuzz(fuzz_run_config
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_run_config.c ${PROJECT_SOURCE_DIR}/pipeline/config/yaml_doc.c
          ${PROJECT_SOURCE_DIR}/pipeline/config/run_config.c
  LIBS mrpc_core mrpc::yaml)
if(TARGET fuzz_run_config)
  target_include_directories(fuzz_run_config PRIVATE ${PROJECT_SOURCE_DIR}/pipeline/config
                             ${PROJECT_SOURCE_DIR}/pipeline/runrec)
endif()
