#pragma once
// The page a person reads at GET / on sherlock's HTTP address: per service the replica's instances
// next to HAProxy's servers and their state, and the directory streams and their health. Pure:
// rendered from the streams and the sink, tested without sockets.
#include <string_view>

#include "common/clock.hpp"
#include "common/http_reply.hpp"
#include "sherlock/directory_streams.hpp"
#include "sherlock/route_sink.hpp"

namespace baker::sherlock {

inline constexpr std::size_t kServicesPerPage = 25;
inline constexpr std::size_t kInstancesPerService = 200;

// target: "/", "/?page=N" (services kServicesPerPage a page) or "/?service=NAME". 400 for a page
// number that is not 1..1e9. sink may be null (--no-haproxy).
HttpReply render_status_page(const DirectoryStreams& streams, const RouteSink* sink,
                             std::string_view target, TimePoint now);

}  // namespace baker::sherlock
