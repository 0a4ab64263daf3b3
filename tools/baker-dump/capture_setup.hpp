#pragma once
// The pure parts of setting up a capture: the BPF expression for Baker's ports, and turning
// libpcap's failures into messages an operator can act on.
#include <cstdint>
#include <string>
#include <vector>

namespace baker::dump {

inline constexpr std::uint16_t kDirectoryPort = 7400;  // docs/PROTOCOL.md, "Transport and ports"
inline constexpr std::uint16_t kMulticastPort = 7410;

// "udp and (port 7400 or port 7410)": a datagram to or from any of the ports.
std::string bpf_for_ports(const std::vector<std::uint16_t>& ports);

// Message for a pcap_activate() / pcap_create() failure (status is a PCAP_ERROR_* value; detail
// is pcap_geterr() or the errbuf, possibly empty).
std::string describe_capture_error(int status, const std::string& device,
                                   const std::string& detail);
// Message for a pcap_activate() warning (status > 0), or "" if it is not worth saying.
std::string describe_capture_warning(int status, const std::string& device,
                                     const std::string& detail);

}  // namespace baker::dump
