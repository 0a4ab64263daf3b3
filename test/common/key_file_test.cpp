#include "common/key_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "process.hpp"

namespace baker {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  // ctest runs each case as its own process, two at a time: every case has its own directory.
  const std::string& write(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
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

TEST_F(KeyFileTest, AFileReadableByGroupOrOthersIsRefusedWithTheFix) {
  const std::string ring = "1 " + key_ + "\n";
  EXPECT_EQ(error_of(write(ring, 0644)), "key file " + path_ +
                                             " is readable by group or others (mode 0644): run "
                                             "chmod 600 " +
                                             path_);
  EXPECT_EQ(error_of(write(ring, 0640)), "key file " + path_ +
                                             " is readable by group or others (mode 0640): run "
                                             "chmod 600 " +
                                             path_);
  EXPECT_NE(error_of(write(ring, 0604)).find("(mode 0604)"), std::string::npos);
  // Writable or executable by others is not a leak of the key; only reading is checked.
  EXPECT_EQ(load_key_file(write(ring, 0400)).size(), 1u);
  EXPECT_EQ(load_key_file(write(ring, 0600)).size(), 1u);
  EXPECT_EQ(load_key_file(write(ring, 0622)).size(), 1u);
}

TEST_F(KeyFileTest, TheModeIsCheckedBeforeTheContent) {
  // A world-readable file is refused even when it is no valid key file: the message says chmod.
  EXPECT_NE(error_of(write("not a key\n", 0644)).find("run chmod 600"), std::string::npos);
}

TEST_F(KeyFileTest, AReloadLoadsANewKeyFile) {
  const auto r = reload_key_file(write("3 " + key_ + "\n"), true);
  EXPECT_EQ(r.outcome, KeyReload::Outcome::loaded);
  ASSERT_TRUE(r.keys);
  EXPECT_EQ(r.keys->primary_id(), 3u);
  EXPECT_FALSE(r.refused());
  EXPECT_EQ(reload_key_file(path_, false).outcome, KeyReload::Outcome::loaded)
      << "going from no keys to keys is allowed";
}

TEST_F(KeyFileTest, AReloadWithoutAKeyFileKeepsTheKeysInUse) {
  const auto r = reload_key_file("", true);
  EXPECT_EQ(r.outcome, KeyReload::Outcome::refused_no_key_file);
  EXPECT_TRUE(r.refused());
  EXPECT_FALSE(r.keys);
  EXPECT_EQ(r.message,
            "reload refused: the new configuration has no key file, which would turn "
            "authentication off; keeping the current keys");
  const auto none = reload_key_file("", false);
  EXPECT_EQ(none.outcome, KeyReload::Outcome::none) << "no keys before, none now: nothing refused";
  EXPECT_FALSE(none.refused());
}

TEST_F(KeyFileTest, AReloadOfABadKeyFileKeepsTheKeysInUse) {
  for (const auto& r :
       {reload_key_file(write("1 " + key_ + "\n", 0644), true),
        reload_key_file(write("1 nothex\n"), true), reload_key_file(dir_.file("missing"), true)}) {
    EXPECT_EQ(r.outcome, KeyReload::Outcome::refused_bad_file) << r.message;
    EXPECT_FALSE(r.keys);
    EXPECT_NE(r.message.find("; keeping the current keys"), std::string::npos) << r.message;
  }
}

TEST_F(KeyFileTest, AFileWithoutTheRoleTheCallerNeedsIsRefusedNamingIt) {
  const std::string& announce_only = write("1 " + key_ + " announce\n");
  EXPECT_NO_THROW(load_key_file(announce_only, {wire::Role::announce}, "watson"));
  try {
    load_key_file(announce_only, {wire::Role::announce, wire::Role::publish}, "the directory");
    ADD_FAILURE() << "a file without a publish key was accepted";
  } catch (const KeyFileError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("key file " + path_ +
                                              " has no key with the publish role, which the "
                                              "directory needs",
                                          0),
              0u)
        << e.what();
  }
  // A reload to such a file is refused like any bad file: the keys in use stay.
  const auto r = reload_key_file(announce_only, true, {wire::Role::publish}, "sherlock");
  EXPECT_EQ(r.outcome, KeyReload::Outcome::refused_bad_file) << r.message;
  EXPECT_NE(r.message.find("which sherlock needs"), std::string::npos) << r.message;
  // A key without a role word has both.
  EXPECT_NO_THROW(load_key_file(write("1 " + key_ + "\n"),
                                {wire::Role::announce, wire::Role::publish}, "the directory"));
}

}  // namespace
}  // namespace baker
