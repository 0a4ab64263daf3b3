# The HAProxy driver: pure plan/parse code, the admin-socket transport, slots, managed mode.
add_library(baker_haproxy STATIC
  haproxy_commands.cpp haproxy_replies.cpp haproxy_plan.cpp haproxy_driver.cpp
  haproxy_transport.cpp haproxy_sink.cpp
  managed_config.cpp managed_process.cpp managed_haproxy.cpp)
target_include_directories(baker_haproxy PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(baker_haproxy PUBLIC baker_wire baker_common_daemon baker_options Boost::boost
                                           Boost::program_options spdlog::spdlog Threads::Threads)

# Benchmark (not a test): route change -> request lands on the new instance, through a real haproxy.
# Its numbers and the command are in docs/BENCHMARKS.md ("HAProxy driver").
if(BAKER_BENCH)
  add_executable(haproxy_route_bench ${PROJECT_SOURCE_DIR}/tools/bench/haproxy_route_bench.cpp)
  target_link_libraries(haproxy_route_bench PRIVATE baker_haproxy)
endif()
