# The subscriber: pure core (replica, route table, snapshot assembly, query rendering) and the daemon.
add_library(baker_sherlock STATIC replica.cpp route_table.cpp snapshot_assembly.cpp)
target_include_directories(baker_sherlock PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(baker_sherlock PUBLIC baker_wire baker_common baker_options spdlog::spdlog)
