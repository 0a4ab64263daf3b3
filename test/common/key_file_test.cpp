#include "common/key_file.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "process.hpp"

namespace baker {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  // ctest runs each case as its own process, two at a time: every case has its own directory.
  const std::string& write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_;
  }
  std::string error_of(const std::string& path) {
    try {
      load_key_file(path);
    } catch (const KeyFileError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no KeyFileError for " << path;
    return "";
  }

  baker::testing::TempDir dir_;
  std::string path_ = dir_.file("keys");
  const std::string key_ = std::string(64, 'a');
};

TEST_F(KeyFileTest, LoadsAKeyringWithItsPrimary) {
  const auto ring = load_key_file(write("# keys\n1 " + key_ + "\n2 " + key_ + " primary\n"));
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.primary_id(), 2u);
  EXPECT_EQ(load_key_file(write("7 " + key_ + "\n")).primary_id(), 7u) << "the only key";
}

TEST_F(KeyFileTest, ABadLineIsNamedWithTheFile) {
  EXPECT_EQ(error_of(write("# keys\n1 " + key_ + "\n2 nothex\n")),
            "key file " + path_ + ", line 3: key must be exactly 64 hex digits (32 bytes)");
}

TEST_F(KeyFileTest, AFileWithoutAPrimaryOrKeyIsRefused) {
  EXPECT_EQ(error_of(write("1 " + key_ + "\n2 " + key_ + "\n")),
            "key file " + path_ + ": holds several keys but none is marked primary");
  EXPECT_EQ(error_of(write("# empty\n")), "key file " + path_ + ": holds no key");
}

TEST_F(KeyFileTest, AnUnreadableFileIsAStartupError) {
  const std::string missing = dir_.file("no-such-dir/keys");
  const auto message = error_of(missing);
  EXPECT_EQ(message.rfind("cannot read key file " + missing + ": No such file or directory", 0), 0u)
      << message;
  try {
    load_key_file(missing);
  } catch (const StartupError&) {
    SUCCEED() << "a KeyFileError is a StartupError (exit 1)";
  }
}

}  // namespace
}  // namespace baker
