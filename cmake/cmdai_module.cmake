# Helpers so that each module's CMakeLists.txt stays a few lines long.

set(CMDAI_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

# cmdai_module(NAME SOURCES a.cc b.cc DEPS other_module ...)
# Builds the static library cmdai_<NAME>; headers are included as "<module>/<file>.h".
function(cmdai_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(cmdai_${name} STATIC ${ARG_SOURCES})
  target_include_directories(cmdai_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(cmdai_${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${CMDAI_WARNINGS}>)
  target_link_libraries(cmdai_${name} PUBLIC ${ARG_DEPS})
endfunction()

# cmdai_test(NAME SOURCES a_test.cc DEPS cmdai_x ...)
# One GoogleTest executable per module; each TEST becomes its own ctest entry.
function(cmdai_test name)
  if(NOT CMDAI_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${CMDAI_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE CMDAI_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "CMDAI_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
