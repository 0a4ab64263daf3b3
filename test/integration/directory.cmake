# directory: the real binary on loopback with scripted watsons and sherlocks (UDP sockets that
# encode and decode with the wire library): add, expiry, goodbye, NACK retransmit and snapshot,
# multicast on loopback, keys and SIGHUP, flags and config file.
if(TARGET directory)
  baker_integration_test(directory_integration_test
                         ${CMAKE_CURRENT_LIST_DIR}/directory_loopback_test.cpp)
  target_link_libraries(directory_integration_test PRIVATE baker_wire)
  add_dependencies(directory_integration_test directory)
endif()
