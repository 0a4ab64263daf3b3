# baker-dump: records loopback traffic with the real binary, decodes captures (text, JSON),
# edited captures (gaps, reorders), corrupt files, permissions, multicast join.
if(TARGET baker-dump)
  baker_integration_test(baker_dump_integration_test
                         ${CMAKE_CURRENT_LIST_DIR}/baker_dump_capture_test.cpp)
  target_link_libraries(baker_dump_integration_test PRIVATE baker_dump baker_wire
                                                            PkgConfig::PCAP)
  target_include_directories(baker_dump_integration_test PRIVATE ${PROJECT_SOURCE_DIR}/test/baker-dump)
  target_compile_definitions(baker_dump_integration_test
                             PRIVATE BAKER_DUMP_CAPTURES="${PROJECT_SOURCE_DIR}/test/baker-dump/captures")
  add_dependencies(baker_dump_integration_test baker-dump)
endif()

# The same on real daemons: watson heartbeating to directory, recorded and decoded.
if(TARGET baker-dump AND TARGET directory AND TARGET watson)
  baker_integration_test(baker_dump_daemons_test
                         ${CMAKE_CURRENT_LIST_DIR}/baker_dump_daemons_test.cpp)
  target_link_libraries(baker_dump_daemons_test PRIVATE baker_wire PkgConfig::PCAP)
  target_include_directories(baker_dump_daemons_test PRIVATE ${PROJECT_SOURCE_DIR}/test/baker-dump
                                                             ${PROJECT_SOURCE_DIR}/tools)
  add_dependencies(baker_dump_daemons_test baker-dump directory watson)
endif()
