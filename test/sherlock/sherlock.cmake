# Subscriber core tests (simulated time, scripted directory).
baker_test(sherlock_test replica_test.cpp route_table_test.cpp snapshot_assembly_test.cpp
           query_interface_test.cpp)
target_link_libraries(sherlock_test PRIVATE baker_sherlock baker_test_support)
