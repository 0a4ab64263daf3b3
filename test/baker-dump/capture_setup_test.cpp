#include "baker-dump/capture_setup.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

namespace baker::dump {
namespace {

TEST(CaptureSetup, BpfForPorts) {
  EXPECT_EQ(bpf_for_ports({7400, 7410}), "udp and (port 7400 or port 7410)");
  EXPECT_EQ(bpf_for_ports({9}), "udp and (port 9)");
  EXPECT_EQ(bpf_for_ports({}), "udp");
}

TEST(CaptureSetup, BpfCompiles) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  bpf_program program{};
  EXPECT_EQ(pcap_compile(dead, &program, bpf_for_ports({7400, 7410, 9999}).c_str(), 1,
                         PCAP_NETMASK_UNKNOWN),
            0);
  pcap_freecode(&program);
  pcap_close(dead);
}

TEST(CaptureSetup, NoPermissionSaysWhatToDo) {
  const auto m =
      describe_capture_error(PCAP_ERROR_PERM_DENIED, "eth0", "socket: Operation not permitted");
  EXPECT_NE(m.find("no permission to capture on 'eth0'"), std::string::npos) << m;
  EXPECT_NE(m.find("Operation not permitted"), std::string::npos);
  EXPECT_NE(m.find("root"), std::string::npos);
  EXPECT_NE(m.find("setcap cap_net_raw,cap_net_admin=eip"), std::string::npos);
}

TEST(CaptureSetup, UnknownInterfaceNamesIt) {
  const auto m = describe_capture_error(PCAP_ERROR_NO_SUCH_DEVICE, "eth9", "");
  EXPECT_EQ(m, "unknown interface 'eth9'; list interfaces with `ip link`, or use -i any");
}

TEST(CaptureSetup, OtherErrors) {
  EXPECT_NE(describe_capture_error(PCAP_ERROR_IFACE_NOT_UP, "eth1", "").find("'eth1' is down"),
            std::string::npos);
  EXPECT_EQ(describe_capture_error(PCAP_ERROR, "x", "boom"), "cannot capture on 'x' (boom)");
  EXPECT_NE(describe_capture_error(PCAP_ERROR_PROMISC_PERM_DENIED, "eth0", "").find("-p"),
            std::string::npos);
}

TEST(CaptureSetup, Warnings) {
  EXPECT_EQ(describe_capture_warning(PCAP_WARNING_PROMISC_NOTSUP, "any", ""), "");
  EXPECT_NE(describe_capture_warning(PCAP_WARNING_PROMISC_NOTSUP, "wg0", "").find("wg0"),
            std::string::npos);
}

}  // namespace
}  // namespace baker::dump
