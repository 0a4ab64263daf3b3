# Unit tests of the HAProxy driver: commands, replies (captured from 2.6.12), plans, the driver
# core against an in-memory fake CLI, the managed config writer, flags.
baker_test(haproxy_unit_tests
  haproxy_commands_test.cpp haproxy_replies_test.cpp haproxy_plan_test.cpp
  haproxy_driver_test.cpp haproxy_managed_config_test.cpp haproxy_options_test.cpp
  haproxy_fake.cpp)
target_link_libraries(haproxy_unit_tests PRIVATE baker_haproxy baker_test_support)
