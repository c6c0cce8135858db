# libannals.so and what installs with it: the public headers (include/annals/),
# the CMake package (find_package(Annals) -> Annals::annals), a pkg-config
# file and the annals command line. The component libraries go into the
# shared library whole; their dependencies (RocksDB, libpqxx, SQLite,
# Cap'n Proto, OpenSSL) are linked into it privately, so an app's build
# needs none of them: the public headers use the standard library only.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(annals_lib SHARED ${CMAKE_SOURCE_DIR}/cmake/version.cc)
set_target_properties(annals_lib PROPERTIES
  OUTPUT_NAME annals
  EXPORT_NAME annals
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
target_compile_definitions(annals_lib PRIVATE ANNALS_VERSION="${PROJECT_VERSION}")
target_include_directories(annals_lib PUBLIC
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(annals_lib PUBLIC cxx_std_20)
set(ANNALS_COMPONENTS annals_repositories annals_projections annals_migrations annals_journal
    annals_events annals_core)
set(ANNALS_COMPONENT_FILES)
foreach(component ${ANNALS_COMPONENTS})
  list(APPEND ANNALS_COMPONENT_FILES $<TARGET_FILE:${component}>)
endforeach()
add_dependencies(annals_lib ${ANNALS_COMPONENTS})
# Every object of every component, then the components again as targets for
# their third-party dependencies (they add nothing: all is defined already).
target_link_libraries(annals_lib PRIVATE
  -Wl,--whole-archive ${ANNALS_COMPONENT_FILES} -Wl,--no-whole-archive ${ANNALS_COMPONENTS})
# Every symbol the components use must resolve inside the library or its
# private dependencies.
target_link_options(annals_lib PRIVATE -Wl,--no-undefined)

install(TARGETS annals_lib EXPORT AnnalsTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/annals DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS annals RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT AnnalsTargets NAMESPACE Annals::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Annals)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/AnnalsConfig.cmake.in
  ${CMAKE_BINARY_DIR}/AnnalsConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Annals)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/AnnalsConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/AnnalsConfig.cmake ${CMAKE_BINARY_DIR}/AnnalsConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Annals)

# pkg-config: the prefix is the one given at install time (cmake --install
# --prefix), so the file is written then.
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(ANNALS_PC_LIBDIR \"\\\${prefix}/${CMAKE_INSTALL_LIBDIR}\")
  set(ANNALS_PC_INCLUDEDIR \"\\\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/annals.pc.in\"
                 \"\$ENV{DESTDIR}\${prefix}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/annals.pc\" @ONLY)
  message(STATUS \"Installing: \$ENV{DESTDIR}\${prefix}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/annals.pc\")
")
