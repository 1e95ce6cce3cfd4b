# Fuzz targets for mrpc-optimize's inputs: the study config and the wave spec
# (tasks.tsv, wave.yaml). Their sources are compiled into each target so that
# libFuzzer's coverage reaches them; seeds are in corpus/fuzz_optimize_*/.
set(_opt "${PROJECT_SOURCE_DIR}/optimize")
set(_cfg "${PROJECT_SOURCE_DIR}/pipeline/config")
set(_wave "${PROJECT_SOURCE_DIR}/pipeline/wave")
# The parsers of the confirm stage, W&B sweep files and fidelity blocks are compiled in too; what they
# call beyond parsing (the grid's size for a W&B grid) comes from the library.
mrpc_add_fuzz(fuzz_optimize_study
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_optimize_study.c ${_opt}/study.c ${_opt}/space.c ${_opt}/emit.c
          ${_opt}/wandb_sweep.c ${_opt}/fidelity.c ${_opt}/stages/confirm_parse.c
          ${_wave}/wave.c ${_cfg}/yaml_doc.c ${_cfg}/run_config.c
  LIBS mrpc_optimize mrpc_core mrpc::yaml)
mrpc_add_fuzz(fuzz_optimize_tasks
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_optimize_tasks.c ${_wave}/wave.c ${_cfg}/yaml_doc.c ${_cfg}/run_config.c
  LIBS mrpc_core mrpc::yaml)
foreach(_t fuzz_optimize_study fuzz_optimize_tasks)
  if(TARGET ${_t})
    target_include_directories(${_t} PRIVATE ${_opt} ${_opt}/stages ${_opt}/gp ${_cfg} ${_wave}
                                             ${PROJECT_SOURCE_DIR}/pipeline/runrec)
  endif()
endforeach()
