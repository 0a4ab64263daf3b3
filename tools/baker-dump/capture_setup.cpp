#include "baker-dump/capture_setup.hpp"

#include <pcap/pcap.h>

namespace baker::dump {

std::string bpf_for_ports(const std::vector<std::uint16_t>& ports) {
  if (ports.empty()) return "udp";
  std::string s = "udp and (";
  for (std::size_t i = 0; i < ports.size(); ++i) {
    s += (i ? " or port " : "port ") + std::to_string(ports[i]);
  }
  return s + ")";
}

std::string describe_capture_error(int status, const std::string& device,
                                   const std::string& detail) {
  const std::string suffix = detail.empty() ? "" : " (" + detail + ")";
  switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return "unknown interface '" + device + "'" + suffix +
             "; list interfaces with `ip link`, or use -i any";
    case PCAP_ERROR_PERM_DENIED:
      return "no permission to capture on '" + device + "'" + suffix +
             ": run as root, or give the binary the capabilities: "
             "setcap cap_net_raw,cap_net_admin=eip baker-dump";
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return "no permission to put '" + device + "' in promiscuous mode" + suffix +
             "; run as root, or use -p (no promiscuous mode)";
    case PCAP_ERROR_IFACE_NOT_UP:
      return "interface '" + device + "' is down" + suffix;
    case PCAP_ERROR_RFMON_NOTSUP:
      return "interface '" + device + "' does not support monitor mode" + suffix;
    case PCAP_ERROR_ACTIVATED:
      return "capture on '" + device + "' was already active" + suffix;
    default:
      return "cannot capture on '" + device + "'" + suffix;
  }
}

std::string describe_capture_warning(int status, const std::string& device,
                                     const std::string& detail) {
  switch (status) {
    case PCAP_WARNING_PROMISC_NOTSUP:
      // Expected on "any": it never supports promiscuous mode; not worth a line.
      return device == "any" ? ""
                             : "'" + device + "' does not support promiscuous mode; " +
                                   "only traffic to and from this host is seen";
    case PCAP_WARNING_TSTAMP_TYPE_NOTSUP:
      return "'" + device + "' does not support the requested time stamp type";
    default:
      return detail.empty() ? "" : "warning on '" + device + "': " + detail;
  }
}

}  // namespace baker::dump
