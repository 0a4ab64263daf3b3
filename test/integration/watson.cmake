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

# Replays of watson datagrams (captured from real watsons, or made with the wire codec) against
# the real directory: old goodbyes and heartbeats, after a goodbye, an expiry and a restart, with
# and without keys, and a watson whose clock is off.
if(TARGET watson AND TARGET directory)
  baker_integration_test(replay_announce_test ${CMAKE_CURRENT_LIST_DIR}/replay_announce_test.cpp)
  target_link_libraries(replay_announce_test PRIVATE baker_wire)
  add_dependencies(replay_announce_test watson directory)
endif()
