# sherlock (--no-haproxy) against a directory scripted by the test.
baker_integration_test(sherlock_integration_test sherlock_scripted_test.cpp)
target_link_libraries(sherlock_integration_test PRIVATE baker_wire)
add_dependencies(sherlock_integration_test sherlock)
