// The man page against the CLI11 tree the binary parses: it names every command and flag, and
// man(1) renders it without a warning.
#include "cli/man_page.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/app.h"
#include "cli/cli_test_runner.h"

namespace cmdai::cli {
namespace {

namespace fs = std::filesystem;

void for_each_command(const CommandInfo& command,
                      const std::function<void(const CommandInfo&)>& f) {
  f(command);
  for (const CommandInfo& sub : command.subcommands) for_each_command(sub, f);
}

// As roff writes it: every hyphen is \-.
std::string roff_name(const std::string& name) {
  std::string out;
  for (char c : name) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

TEST(ManPage, NamesEveryCommandAndFlagOfTheTree) {
  CLI::App app;
  CliContext context;
  build_app(app, context);
  const CommandInfo root = describe_command_line(app);
  const std::string page = man_page(root, "9.9.9");
  EXPECT_NE(page.find(".TH CMDAI 1 \"\" \"cmdai 9.9.9\""), std::string::npos);
  for_each_command(root, [&](const CommandInfo& command) {
    if (!command.path.empty()) {
      EXPECT_NE(page.find(".SS \"" + roff_name(command.path) + "\""), std::string::npos)
          << command.path;
    }
    for (const OptionInfo& option : command.options) {
      for (const std::string& name : option.names) {
        EXPECT_NE(page.find("\\fB" + roff_name(name) + "\\fR"), std::string::npos)
            << "cmdai " << command.path << " " << name;
      }
    }
  });
  EXPECT_EQ(page.find("man\\-page"), std::string::npos) << "the hidden man-page is listed";
}

TEST(ManPage, ManRendersTheBinarysPageWithoutWarnings) {
  if (std::system("command -v man >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "man is not installed (apt-get install man-db): skipping";
  }
  const fs::path file = fs::temp_directory_path() / ("cmdai_man_" + std::to_string(::getpid()));
  const std::string page = run(testing::shell_quote(testing::cmdai_binary()) + " man-page");
  std::ofstream(file) << page;
  const std::string text = run("MANWIDTH=100 MANPAGER=cat man --warnings -l " +
                               testing::shell_quote(file.string()) + " 2>&1");
  fs::remove(file);
  EXPECT_NE(text.find("cmdai - turn a plain-language request"), std::string::npos) << text;
  EXPECT_NE(text.find("--model"), std::string::npos);
  EXPECT_NE(text.find("model pull"), std::string::npos);
  EXPECT_EQ(text.find("warning"), std::string::npos) << text;
}

}  // namespace
}  // namespace cmdai::cli
