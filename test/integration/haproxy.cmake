# The HAProxy driver against a real haproxy started by the tests on loopback: external-socket mode
# and managed mode.
baker_integration_test(haproxy_integration_tests
  haproxy_external_test.cpp haproxy_managed_test.cpp haproxy_slot_states_test.cpp
  haproxy_test_support.cpp)
target_link_libraries(haproxy_integration_tests PRIVATE baker_sherlock_daemon)
