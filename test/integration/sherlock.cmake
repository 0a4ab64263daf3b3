# sherlock (--no-haproxy) against a directory scripted by the test.
baker_integration_test(sherlock_integration_test sherlock_scripted_test.cpp)
target_link_libraries(sherlock_integration_test PRIVATE baker_wire)
add_dependencies(sherlock_integration_test sherlock)

# sherlock (--no-haproxy) with the real directory, directly and through a lossy relay.
if(TARGET directory)
  baker_integration_test(sherlock_directory_test sherlock_directory_test.cpp)
  target_link_libraries(sherlock_directory_test PRIVATE baker_wire Threads::Threads)
  add_dependencies(sherlock_directory_test sherlock directory)
endif()

# Attacks on the subscription path (replays, spoofed sources, floods) with both real binaries.
if(TARGET directory)
  baker_integration_test(replay_subscribe_test replay_subscribe_test.cpp)
  target_link_libraries(replay_subscribe_test PRIVATE baker_wire Threads::Threads)
  add_dependencies(replay_subscribe_test sherlock directory)
endif()

# Several directories, each sending to a multicast group (one each, or one shared), with real
# watsons and a sherlock hearing the groups.
if(TARGET directory AND TARGET watson)
  baker_integration_test(multi_directory_multicast_test multi_directory_multicast_test.cpp)
  add_dependencies(multi_directory_multicast_test sherlock directory watson)
endif()
