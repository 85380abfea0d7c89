# `cmake --install` and `cpack -G DEB`: the binary, its man page and completion scripts (made at
# build time by running the binary: cmake/generate_docs.cmake) and the docs, in the usual places.
include(GNUInstallDirs)

set(CMDAI_GENERATED_DIR ${PROJECT_BINARY_DIR}/generated)
set(CMDAI_GENERATED ${CMDAI_GENERATED_DIR}/cmdai.1 ${CMDAI_GENERATED_DIR}/cmdai.bash
    ${CMDAI_GENERATED_DIR}/_cmdai ${CMDAI_GENERATED_DIR}/cmdai.fish)
add_custom_command(
  OUTPUT ${CMDAI_GENERATED}
  COMMAND ${CMAKE_COMMAND} -DCMDAI=$<TARGET_FILE:cmdai>
          -DOUT=${CMDAI_GENERATED_DIR} -P ${PROJECT_SOURCE_DIR}/cmake/generate_docs.cmake
  DEPENDS cmdai ${PROJECT_SOURCE_DIR}/cmake/generate_docs.cmake
  COMMENT "Generating the man page and completion scripts from cmdai's flags"
  VERBATIM)
add_custom_target(cmdai_docs ALL DEPENDS ${CMDAI_GENERATED})

install(TARGETS cmdai RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMDAI_GENERATED_DIR}/cmdai.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMDAI_GENERATED_DIR}/cmdai.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME cmdai)
install(FILES ${CMDAI_GENERATED_DIR}/_cmdai
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${CMDAI_GENERATED_DIR}/cmdai.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
file(GLOB cmdai_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${cmdai_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The Debian package. Its Depends come from dpkg-shlibdeps (package dpkg-dev): the libraries the
# binary links (libc6, libstdc++6, libssl3, libfmt9, ...), whatever the build enabled. libcurl is
# dlopen()ed on the first download (src/catalog/curl_library.h), so dpkg-shlibdeps cannot see it:
# it is named here (7.85 for CURLOPT_PROTOCOLS_STR), and shlibdeps' list is appended to it.
set(CMDAI_DEB_MAINTAINER "cmdai developers <cmdai@localhost>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cmdai)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "turn a plain-language request into one safe shell command")
set(CPACK_PACKAGE_DESCRIPTION
    "cmdai writes one shell command for a request in plain words, with a small code model that "
    "runs inside the program, checks it against safety rules and runs it only when you agree.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${CMDAI_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.85.0)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
include(CPack)

if(CMDAI_BUILD_TESTS)
  add_test(NAME InstallIntoFreshPrefix
           COMMAND ${PROJECT_SOURCE_DIR}/scripts/test-install.sh ${PROJECT_BINARY_DIR})
endif()
