# src/common on the real binaries: key-file permissions and fail-closed SIGHUP reloads in every
# daemon and baker-dump; the HTTP status server under a flood of idle connections.
if(TARGET directory AND TARGET watson AND TARGET sherlock AND TARGET baker-dump)
  baker_integration_test(key_file_integration_test
                         ${CMAKE_CURRENT_LIST_DIR}/key_file_daemons_test.cpp)
  target_link_libraries(key_file_integration_test PRIVATE baker_wire)
  add_dependencies(key_file_integration_test directory watson sherlock baker-dump)
endif()

if(TARGET directory AND TARGET sherlock)
  baker_integration_test(status_flood_test ${CMAKE_CURRENT_LIST_DIR}/status_flood_test.cpp)
  target_link_libraries(status_flood_test PRIVATE baker_wire)
  add_dependencies(status_flood_test directory sherlock)
endif()

# systemd's service protocol (READY, WATCHDOG, RELOADING, STOPPING) and journal logging, on every
# daemon.
if(TARGET directory AND TARGET watson AND TARGET sherlock)
  baker_integration_test(systemd_integration_test
                         ${CMAKE_CURRENT_LIST_DIR}/systemd_daemons_test.cpp)
  add_dependencies(systemd_integration_test directory watson sherlock)
endif()
