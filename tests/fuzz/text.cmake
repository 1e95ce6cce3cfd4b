# Fuzz targets of train/text (included by tests/fuzz/CMakeLists.txt). The train/text
# sources are compiled into each target, not linked from mrpc_text, so that they carry
# libFuzzer's coverage instrumentation.
set(_text_dir "${PROJECT_SOURCE_DIR}/train/text")
mrpc_add_fuzz(fuzz_tsv
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_tsv.c ${_text_dir}/mrpc_tsv.c ${_text_dir}/mrpc_utf8.c
  LIBS mrpc_core)
mrpc_add_fuzz(fuzz_tokenizer
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_tokenizer.c ${_text_dir}/tokenizer.c ${_text_dir}/mrpc_utf8.c
  LIBS mrpc_core mrpc::utf8proc)
if(TARGET fuzz_tsv)
  target_include_directories(fuzz_tsv PRIVATE ${_text_dir})
  target_include_directories(fuzz_tokenizer PRIVATE ${_text_dir})
  target_compile_definitions(fuzz_tokenizer PRIVATE
    MRPC_FUZZ_VOCAB="${MRPC_TEST_DATA_DIR}/bert-base-uncased/vocab.txt")
  set_tests_properties(fuzz_tokenizer PROPERTIES ENVIRONMENT "MRPC_DATA_DIR=${MRPC_TEST_DATA_DIR}")
endif()
