# watson: the real binary against a local HTTP server switched healthy/unhealthy, a TCP listener
# and a command check, with fake directories (UDP sockets) decoding what arrives; and, when the
# directory is built, against the real directory (its /routes and /metrics).
if(TARGET watson)
  baker_integration_test(watson_integration_test ${CMAKE_CURRENT_LIST_DIR}/watson_agent_test.cpp)
  target_link_libraries(watson_integration_test PRIVATE baker_wire)
  add_dependencies(watson_integration_test watson)
  if(TARGET directory)
    add_dependencies(watson_integration_test directory)
  endif()
endif()
