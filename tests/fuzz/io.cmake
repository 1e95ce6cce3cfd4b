# Fuzz targets for train/io. The library sources are compiled into each target (rather
# than linking mrpc_io) so that libFuzzer's coverage instrumentation reaches them.
mrpc_add_fuzz(fuzz_safetensors
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_safetensors.c ${PROJECT_SOURCE_DIR}/train/io/safetensors.c
  LIBS mrpc_core mrpc::jansson)
mrpc_add_fuzz(fuzz_hf_config
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_hf_config.c ${PROJECT_SOURCE_DIR}/train/io/hf_config.c
  LIBS mrpc_core mrpc::jansson)
foreach(_t fuzz_safetensors fuzz_hf_config)
  if(TARGET ${_t})
    target_include_directories(${_t} PRIVATE ${PROJECT_SOURCE_DIR}/train/io)
  endif()
endforeach()
