# End to end: every real binary together, the sample service, a real haproxy (issue "end to end").
if(TARGET directory AND TARGET watson AND TARGET sherlock)
  baker_integration_test(e2e_test ${CMAKE_CURRENT_LIST_DIR}/e2e_fault_test.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/e2e_loss_test.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/e2e_routing_test.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/sherlock_restart_test.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/e2e_support.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/haproxy_test_support.cpp)
  target_link_libraries(e2e_test PRIVATE baker_wire baker_sherlock_daemon)
  target_compile_definitions(e2e_test PRIVATE BAKER_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(e2e_test directory watson sherlock)
endif()

# Several directories (issue "Several directories"): SIGKILL under load through HAProxy,
# partitions from the watsons or the sherlock and loss (nftables in the test's own network
# namespace), restarts through warm-up, every start order, stale and replayed records.
if(TARGET directory AND TARGET watson AND TARGET sherlock)
  baker_integration_test(multi_directory_test ${CMAKE_CURRENT_LIST_DIR}/multi_directory_test.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/e2e_support.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/haproxy_test_support.cpp)
  target_link_libraries(multi_directory_test PRIVATE baker_wire baker_sherlock_daemon)
  target_compile_definitions(multi_directory_test PRIVATE BAKER_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(multi_directory_test directory watson sherlock)
endif()

# The status pages of a running system in headless Chromium (issue "For operators").
if(TARGET directory AND TARGET watson AND TARGET sherlock)
  baker_integration_test(status_pages_browser_test
                         ${CMAKE_CURRENT_LIST_DIR}/status_pages_browser_test.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/e2e_support.cpp
                         ${CMAKE_CURRENT_LIST_DIR}/haproxy_test_support.cpp)
  target_link_libraries(status_pages_browser_test PRIVATE baker_wire baker_sherlock_daemon)
  target_compile_definitions(status_pages_browser_test PRIVATE
                             BAKER_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(status_pages_browser_test directory watson sherlock)
endif()
