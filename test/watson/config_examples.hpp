#pragma once
// watson.conf examples shared by the config tests and the fuzzer's seed corpus.

namespace baker::watson::examples {

// The shape of Baker Street's watson.conf (ConfigParser: sections, ';' comments, "name: value").
inline constexpr const char* kBakerStreetStyle = R"([Datawire]
directory_host = 10.1.2.3

[Watson]
; The name of the service.
service_name: foo

# The service health check URL.
health_check_url: http://localhost:5001/health

; The number of seconds between health checks.
period: 3
logging: DEBUG
service_url: http://localhost:9000/foobar
)";

}  // namespace baker::watson::examples
