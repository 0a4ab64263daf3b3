# The subscriber. baker_sherlock is the pure core (replica, route table, snapshot assembly, query
# rendering); the executable adds the Asio shell (subscriber.cpp) and the flags (sherlock_main.cpp).
add_library(baker_sherlock STATIC replica.cpp route_table.cpp snapshot_assembly.cpp
                                  query_interface.cpp)
target_include_directories(baker_sherlock PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(baker_sherlock PUBLIC baker_wire baker_common_daemon baker_options spdlog::spdlog
                                            Boost::boost)

add_executable(sherlock sherlock_main.cpp subscriber.cpp)
target_link_libraries(sherlock PRIVATE baker_sherlock baker_options Threads::Threads)
if(TARGET baker_haproxy)
  target_link_libraries(sherlock PRIVATE baker_haproxy)
  target_compile_definitions(sherlock PRIVATE BAKER_SHERLOCK_HAPROXY=1)
endif()
