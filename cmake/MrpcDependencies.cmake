# MrpcDependencies.cmake — finds the libraries every build needs and the optional
# backends, and prints one status line per backend.
#
# Imported targets defined here for the rest of the build:
#   mrpc::hdf5 mrpc::yaml mrpc::nlopt mrpc::jansson mrpc::utf8proc mrpc::blas mrpc::lapacke
#   OpenMP::OpenMP_C, MPI::MPI_C (when MRPC_HAVE_MPI), mrpc::dnnl (when MRPC_HAVE_ONEDNN),
#   CUDA::cudart CUDA::cublas CUDA::cublasLt (when MRPC_HAVE_CUDA), mrpc::nccl (when MRPC_HAVE_NCCL)

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS C)

# HDF5 (serial is enough: only rank 0 writes a run record).
find_package(HDF5 REQUIRED COMPONENTS C)
add_library(mrpc::hdf5 INTERFACE IMPORTED)
target_include_directories(mrpc::hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(mrpc::hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(mrpc::hdf5 INTERFACE H5_USE_110_API ${HDF5_DEFINITIONS})

pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
add_library(mrpc::yaml ALIAS PkgConfig::YAML)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
add_library(mrpc::jansson ALIAS PkgConfig::JANSSON)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
add_library(mrpc::utf8proc ALIAS PkgConfig::UTF8PROC)

# BLAS: OpenBLAS (CBLAS interface), LAPACKE for the optimizer's Cholesky.
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
add_library(mrpc::blas ALIAS PkgConfig::OPENBLAS)
find_path(LAPACKE_INCLUDE_DIR lapacke.h REQUIRED)
find_library(LAPACKE_LIBRARY lapacke REQUIRED)
add_library(mrpc::lapacke INTERFACE IMPORTED)
target_include_directories(mrpc::lapacke INTERFACE ${LAPACKE_INCLUDE_DIR})
target_link_libraries(mrpc::lapacke INTERFACE ${LAPACKE_LIBRARY} PkgConfig::OPENBLAS)

find_library(MATH_LIBRARY m REQUIRED)

pkg_check_modules(NLOPT REQUIRED IMPORTED_TARGET nlopt)
add_library(mrpc::nlopt ALIAS PkgConfig::NLOPT)

# ---- optional backends -----------------------------------------------------------

# mrpc_backend_status(<name> <option> <found> <detail>): the AUTO/ON/OFF rule in one place.
function(mrpc_backend_decide name opt found detail out_var)
  if(${opt} STREQUAL "OFF")
    message(STATUS "mrpc backend ${name}: OFF (disabled by ${opt}=OFF)")
    set(${out_var} FALSE PARENT_SCOPE)
  elseif(found)
    message(STATUS "mrpc backend ${name}: ON (${detail})")
    set(${out_var} TRUE PARENT_SCOPE)
  elseif(${opt} STREQUAL "ON")
    message(FATAL_ERROR "mrpc backend ${name}: ${opt}=ON but it was not found (${detail}); "
                        "install it (scripts/install-deps.sh) or use -D${opt}=AUTO")
  else()
    message(STATUS "mrpc backend ${name}: OFF (not found: ${detail})")
    set(${out_var} FALSE PARENT_SCOPE)
  endif()
endfunction()

# MPI
set(_mpi_found FALSE)
if(NOT MRPC_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(_mpi_found TRUE)
  endif()
endif()
mrpc_backend_decide(MPI MRPC_MPI ${_mpi_found} "MPI ${MPI_C_VERSION} ${MPIEXEC_EXECUTABLE}" MRPC_HAVE_MPI)

# oneDNN
set(_dnnl_found FALSE)
if(NOT MRPC_ONEDNN STREQUAL "OFF")
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
  find_library(DNNL_LIBRARY dnnl)
  if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
    set(_dnnl_found TRUE)
    add_library(mrpc::dnnl INTERFACE IMPORTED)
    target_include_directories(mrpc::dnnl INTERFACE ${DNNL_INCLUDE_DIR})
    target_link_libraries(mrpc::dnnl INTERFACE ${DNNL_LIBRARY})
  endif()
endif()
mrpc_backend_decide(oneDNN MRPC_ONEDNN ${_dnnl_found} "${DNNL_LIBRARY}" MRPC_HAVE_ONEDNN)

# CUDA (enable_language must run here, in the directory all CUDA users share)
set(_cuda_found FALSE)
if(NOT MRPC_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES ${MRPC_CUDA_ARCHITECTURES})
    # One CUDA runtime for the whole program: the shared one, as CUDA::cudart links it.
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    enable_language(CUDA)
    find_package(CUDAToolkit QUIET)
    if(CUDAToolkit_FOUND)
      set(_cuda_found TRUE)
    endif()
  endif()
endif()
mrpc_backend_decide(CUDA MRPC_CUDA ${_cuda_found}
  "nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${MRPC_CUDA_ARCHITECTURES}" MRPC_HAVE_CUDA)

# NCCL: no CMake module ships with CMake; look beside the CUDA toolkit.
set(_nccl_found FALSE)
if(MRPC_HAVE_CUDA AND MRPC_HAVE_MPI AND NOT MRPC_NCCL STREQUAL "OFF")
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(_nccl_found TRUE)
    add_library(mrpc::nccl INTERFACE IMPORTED)
    target_include_directories(mrpc::nccl INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(mrpc::nccl INTERFACE ${NCCL_LIBRARY})
  endif()
endif()
mrpc_backend_decide(NCCL MRPC_NCCL ${_nccl_found} "needs CUDA and MPI; ${NCCL_LIBRARY}" MRPC_HAVE_NCCL)
