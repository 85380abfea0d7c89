# Dependencies of a CMDAI_KERNEL_TESTS_ONLY build (base, quant, device and their tests). A cross
# build has no target-architecture fmt or GoogleTest packages, so it falls back on what any
# Debian host has: fmt's headers in header-only mode, and GoogleTest built from its source.

find_package(fmt QUIET)
if(NOT fmt_FOUND)
  set(CMDAI_FMT_HEADERS /usr/include/fmt CACHE PATH "fmt's header folder (used header-only)")
  if(NOT EXISTS ${CMDAI_FMT_HEADERS}/format.h)
    message(FATAL_ERROR "fmt headers not found in ${CMDAI_FMT_HEADERS} (apt-get install libfmt-dev)")
  endif()
  # Only fmt/ is exposed: adding the host's /usr/include itself would shadow the target's libc.
  set(fmt_include ${CMAKE_BINARY_DIR}/fmt-include)
  file(MAKE_DIRECTORY ${fmt_include})
  file(CREATE_LINK ${CMDAI_FMT_HEADERS} ${fmt_include}/fmt SYMBOLIC)
  add_library(fmt::fmt INTERFACE IMPORTED)
  target_include_directories(fmt::fmt SYSTEM INTERFACE ${fmt_include})
  target_compile_definitions(fmt::fmt INTERFACE FMT_HEADER_ONLY=1)
endif()

if(CMDAI_BUILD_TESTS)
  enable_testing()
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    set(CMDAI_GTEST_SOURCE /usr/src/googletest CACHE PATH "GoogleTest source tree (Debian's googletest package)")
    if(NOT EXISTS ${CMDAI_GTEST_SOURCE}/CMakeLists.txt)
      message(FATAL_ERROR "GoogleTest source not found in ${CMDAI_GTEST_SOURCE} (apt-get install googletest)")
    endif()
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    add_subdirectory(${CMDAI_GTEST_SOURCE} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL SYSTEM)
    if(NOT TARGET GTest::gtest)  # GoogleTest releases before 1.12 define no namespaced targets
      add_library(GTest::gtest ALIAS gtest)
      add_library(GTest::gtest_main ALIAS gtest_main)
    endif()
  endif()
endif()
