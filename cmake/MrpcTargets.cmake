# MrpcTargets.cmake — compile settings shared by every target, and the test helper.

# mrpc_target_defaults(<target>): C11, warnings, sanitizers, the generated version header.
function(mrpc_target_defaults target)
  get_target_property(_type ${target} TYPE)
  if(_type STREQUAL "INTERFACE_LIBRARY")
    return()
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wno-unused-parameter -Wformat=2 -Wundef -Wvla>)
  if(MRPC_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Werror>)
  endif()
  if(MRPC_SANITIZE)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C>:-fsanitize=address,undefined
      -fno-omit-frame-pointer -fno-sanitize-recover=undefined>)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  target_include_directories(${target} PRIVATE "${PROJECT_BINARY_DIR}/generated")
endfunction()

# mrpc_add_test(<name> SOURCES ... [LIBS ...] [LABELS ...] [ARGS ...] [TIMEOUT s]
#               [ENV VAR=value ...] [SKIP_77])
# Builds one test executable and registers it with ctest. Tests get MRPC_DATA_DIR and
# MRPC_SOURCE_DIR in their environment and a scratch directory in MRPC_TEST_TMPDIR.
function(mrpc_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS;ENV" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  mrpc_target_defaults(${name})
  target_link_libraries(${name} PRIVATE mrpc_testutil ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  set_tests_properties(${name} PROPERTIES
    LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "MRPC_DATA_DIR=${MRPC_TEST_DATA_DIR};MRPC_SOURCE_DIR=${PROJECT_SOURCE_DIR};MRPC_BINARY_DIR=${PROJECT_BINARY_DIR};MRPC_TEST_TMPDIR=${PROJECT_BINARY_DIR}/test-tmp/${name};${T_ENV}")
endfunction()
