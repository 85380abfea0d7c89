// The completion scripts against the CLI11 tree the binary parses: every flag of every command is
// in each script (so a new flag cannot be forgotten), and real bash, zsh and fish complete from
// them: subcommands, flags, values, and --model's names, .gguf files and directories. zsh and fish
// are Debian packages (scripts/install-deps.sh); where one is missing its tests skip, saying so.
#include "cli/completion.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/cli_test_runner.h"
#include "cli/command_tree.h"

namespace cmdai::cli {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;

// Calls `visit(path, command)` for cmdai and every visible subcommand below it, read from CLI11
// directly (not through command_tree.h, which is under test).
void for_each_command(const CLI::App& app, const std::string& path,
                      const std::function<void(const std::string&, const CLI::App&)>& visit) {
  visit(path, app);
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_group().empty()) continue;  // hidden
    for_each_command(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), visit);
  }
}

// Every name a user can type for the visible options of `command`: "--model", "-o".
std::set<std::string> option_names(const CLI::App& command) {
  std::set<std::string> names;
  for (const CLI::Option* option : command.get_options({})) {
    if (option->get_positional() || option->get_group().empty()) continue;
    for (const std::string& s : option->get_snames()) names.insert("-" + s);
    for (const std::string& l : option->get_lnames()) names.insert("--" + l);
  }
  return names;
}

std::set<std::string> subcommand_names(const CLI::App& command) {
  std::set<std::string> names;
  for (const CLI::App* sub : command.get_subcommands({})) {
    if (!sub->get_group().empty()) names.insert(sub->get_name());
  }
  return names;
}

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

class Completion : public ::testing::Test {
 protected:
  void SetUp() override {
    build_app(app_, context_);
    root_ = describe_command_line(app_);
    dir_ = fs::temp_directory_path() / ("cmdai_completion_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "cache");
    for (const char* shell : {"bash", "zsh", "fish"}) {
      std::ofstream(dir_ / shell) << completion_script(root_, shell).value();
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `command` with the built cmdai first on PATH and an empty model cache; its stdout.
  std::string run(const std::string& command) const {
    const std::string bin_dir = fs::path(testing::cmdai_binary()).parent_path().string();
    const std::string line = "env PATH=" + shell_quote(bin_dir + ":" + std::getenv("PATH")) +
                             " CMDAI_CACHE_DIR=" + shell_quote((dir_ / "cache").string()) + " " +
                             command + " 2>&1";
    std::string out;
    FILE* pipe = ::popen(line.c_str(), "r");
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    ::pclose(pipe);
    return out;
  }

  // What bash offers for `words`, the last one being the word under the cursor (bash itself
  // splits --opt=value into "--opt" "=" "value"; the words given here are split the same way).
  std::set<std::string> bash_complete(const std::vector<std::string>& words) const {
    std::string line = "bash --norc --noprofile -c " +
                       shell_quote(
                           "source \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); "
                           "_cmdai; printf '%s\\n' \"${COMPREPLY[@]}\"") +
                       " bash " + shell_quote((dir_ / "bash").string());
    for (const std::string& word : words) line += " " + shell_quote(word);
    std::set<std::string> offered;
    std::istringstream out(run(line));
    for (std::string candidate; std::getline(out, candidate);) {
      if (!candidate.empty()) offered.insert(candidate);
    }
    return offered;
  }

  // What fish offers for the command line `line` (the cursor at its end), without descriptions.
  std::set<std::string> fish_complete(const std::string& line) const {
    std::set<std::string> offered;
    std::istringstream out(
        run("fish --no-config -c " + shell_quote("source " + shell_quote((dir_ / "fish").string()) +
                                                 "; complete -C " + shell_quote(line))));
    for (std::string candidate; std::getline(out, candidate);) {
      offered.insert(candidate.substr(0, candidate.find('\t')));
    }
    return offered;
  }

  // What zsh offers for `line`, through a zsh driven in a pseudo-terminal
  // (zsh_complete_test.zsh). File names come without the directory typed.
  std::set<std::string> zsh_complete(const std::string& line) const {
    const std::string helper = std::string(CMDAI_SOURCE_DIR) + "/src/cli/zsh_complete_test.zsh";
    const std::string out =
        run("HOME=" + shell_quote(dir_.string()) + " timeout 20 zsh -f " + shell_quote(helper) +
            " " + shell_quote((dir_ / "zsh").string()) + " " + shell_quote(line));
    std::set<std::string> offered;
    std::istringstream in(out);
    for (std::string candidate; std::getline(in, candidate);) offered.insert(candidate);
    return offered;
  }

  std::set<std::string> model_names() const {
    const auto names =
        split_words(run(shell_quote(testing::cmdai_binary()) + " model list --names"));
    return {names.begin(), names.end()};
  }

  // A directory with a model file, another file and a subdirectory, for --model.
  fs::path models_dir() const {
    const fs::path dir = dir_ / "models";
    fs::create_directories(dir / "sub");
    std::ofstream(dir / "a.gguf") << "x";
    std::ofstream(dir / "notes.txt") << "x";
    return dir;
  }

  CLI::App app_;
  CliContext context_;
  CommandInfo root_;
  fs::path dir_;
};

bool have(const char* program) {
  return std::system(("command -v " + std::string(program) + " >/dev/null 2>&1").c_str()) == 0;
}

TEST_F(Completion, EveryFlagAndSubcommandOfTheTreeIsInEachScript) {
  for (const std::string shell : {"bash", "zsh", "fish"}) {
    const std::string script = *completion_script(root_, shell);
    for_each_command(app_, "", [&](const std::string& path, const CLI::App& command) {
      for (const std::string& sub : subcommand_names(command)) {
        EXPECT_NE(script.find(sub), std::string::npos)
            << shell << ": subcommand '" << sub << "' of 'cmdai " << path << "' is missing";
      }
      for (const std::string& name : option_names(command)) {
        // fish spells them `-l model` and `-s o`.
        const bool is_long = name.rfind("--", 0) == 0;
        const std::string spelled =
            shell != "fish" ? name : (is_long ? "-l " + name.substr(2) : "-s " + name.substr(1));
        EXPECT_NE(script.find(spelled), std::string::npos)
            << shell << ": '" << name << "' of 'cmdai " << path << "' is missing";
      }
    });
  }
}

TEST_F(Completion, EveryValueHintNamesAnOptionOfTheTree) {
  for (const HintEntry& entry : value_hints()) {
    bool found = false;
    for_each_command(app_, "", [&](const std::string& path, const CLI::App& command) {
      if (entry.command != path && std::string(entry.command) != "*") return;
      for (const CLI::Option* option : command.get_options({})) {
        const std::string name =
            option->get_positional() ? option->get_name() : "--" + option->get_lnames().front();
        found = found || name == entry.name;
      }
    });
    EXPECT_TRUE(found) << "value hint for '" << entry.name << "' of '" << entry.command
                       << "' names no option: renamed or removed?";
  }
}

TEST_F(Completion, BashOffersExactlyTheFlagsOfEachCommand) {
  for_each_command(app_, "", [&](const std::string& path, const CLI::App& command) {
    std::vector<std::string> words = {"cmdai"};
    for (const std::string& word : split_words(path)) words.push_back(word);
    words.push_back("-");
    EXPECT_EQ(bash_complete(words), option_names(command)) << "cmdai " << path << " -<TAB>";
  });
}

TEST_F(Completion, BashCompletesSubcommandsFlagsAndValues) {
  struct Case {
    std::vector<std::string> words;
    std::set<std::string> expected;
  };
  const std::vector<Case> cases = {
      {{"cmdai", "--mo"}, {"--model"}},
      {{"cmdai", "--q"}, {"--quiet"}},
      {{"cmdai", "model", ""}, {"inspect", "list", "pull", "path", "rm", "synth"}},
      {{"cmdai", "model", "list", "--n"}, {"--names"}},
      {{"cmdai", "config", ""}, {"show", "path"}},
      {{"cmdai", "--safety", ""}, {"strict", "moderate", "permissive"}},
      {{"cmdai", "-o", "j"}, {"json"}},
      {{"cmdai", "--output", "=", ""}, {"plain", "json", "yaml"}},  // --output=<TAB>
      {{"cmdai", "--backend", "c"}, {"cpu", "cuda"}},
      {{"cmdai", "init", ""}, {"bash", "zsh", "fish"}},
      {{"cmdai", "-x", "--shell", "fish", "co"}, {"completion", "config"}},
      {{"cmdai", "find", "big", "files", ""}, {}},  // request words: nothing to offer
      {{"cmdai", "--", "model", ""}, {}},           // after --, a request
      {{"cmdai", "--seed", ""}, {}},                // a number
  };
  for (const Case& c : cases) {
    std::string line;
    for (const std::string& w : c.words) line += w + " ";
    EXPECT_EQ(bash_complete(c.words), c.expected) << line << "<TAB>";
  }
}

TEST_F(Completion, BashModelCompletesNamesGgufFilesAndDirectories) {
  const std::set<std::string> names = model_names();
  ASSERT_FALSE(names.empty());
  const std::set<std::string> offered = bash_complete({"cmdai", "--model", ""});
  for (const std::string& name : names) EXPECT_TRUE(offered.count(name)) << name;

  const std::string dir = models_dir().string();
  EXPECT_EQ(bash_complete({"cmdai", "--model", dir + "/"}),
            (std::set<std::string>{dir + "/a.gguf", dir + "/sub"}));
  EXPECT_EQ(bash_complete({"cmdai", "-q", "--model", "=", dir + "/"}),
            (std::set<std::string>{dir + "/a.gguf", dir + "/sub"}));
  EXPECT_EQ(bash_complete({"cmdai", "model", "inspect", dir + "/"}),
            (std::set<std::string>{dir + "/a.gguf", dir + "/sub"}));
  EXPECT_EQ(bash_complete({"cmdai", "model", "pull", *names.begin()}),
            (std::set<std::string>{*names.begin()}));
}

TEST_F(Completion, FishCompletesSubcommandsFlagsAndModels) {
  if (!have("fish")) GTEST_SKIP() << "fish is not installed (apt-get install fish): skipping";
  for_each_command(app_, "", [&](const std::string& path, const CLI::App& command) {
    const std::string line = "cmdai " + (path.empty() ? "" : path + " ") + "-";
    std::set<std::string> offered = fish_complete(line);
    // fish offers `-h` and `--help` alike; it also lists the short flags as `-x` words.
    for (const std::string& name : option_names(command)) {
      EXPECT_TRUE(offered.count(name)) << line << "<TAB> lacks " << name;
    }
  });
  EXPECT_EQ(fish_complete("cmdai model "),
            (std::set<std::string>{"inspect", "list", "pull", "path", "rm", "synth"}));
  EXPECT_EQ(fish_complete("cmdai --safety "),
            (std::set<std::string>{"strict", "moderate", "permissive"}));
  EXPECT_TRUE(fish_complete("cmdai --mo").count("--model"));
  EXPECT_EQ(fish_complete("cmdai find big files "), std::set<std::string>{});
  const std::string dir = models_dir().string();
  const std::set<std::string> offered = fish_complete("cmdai --model " + dir + "/");
  EXPECT_TRUE(offered.count(dir + "/a.gguf")) << "a.gguf";
  EXPECT_TRUE(offered.count(dir + "/sub/")) << "sub/";
  EXPECT_FALSE(offered.count(dir + "/notes.txt")) << "notes.txt";
  for (const std::string& name : model_names()) {
    EXPECT_TRUE(fish_complete("cmdai --model ").count(name)) << name;
  }
}

TEST_F(Completion, ZshCompletesSubcommandsFlagsAndModels) {
  if (!have("zsh")) GTEST_SKIP() << "zsh is not installed (apt-get install zsh): skipping";
  for_each_command(app_, "", [&](const std::string& path, const CLI::App& command) {
    const std::string line = "cmdai " + (path.empty() ? "" : path + " ") + "-";
    EXPECT_EQ(zsh_complete(line), option_names(command)) << line << "<TAB>";
  });
  EXPECT_EQ(zsh_complete("cmdai model "),
            (std::set<std::string>{"inspect", "list", "pull", "path", "rm", "synth"}));
  EXPECT_EQ(zsh_complete("cmdai --safety "),
            (std::set<std::string>{"strict", "moderate", "permissive"}));
  EXPECT_EQ(zsh_complete("cmdai --mo"), std::set<std::string>{"--model"});
  EXPECT_EQ(zsh_complete("cmdai init "), (std::set<std::string>{"bash", "zsh", "fish"}));
  EXPECT_EQ(zsh_complete("cmdai find big files "), std::set<std::string>{});
  // zsh offers file names relative to the directory typed.
  const std::string dir = models_dir().string();
  EXPECT_EQ(zsh_complete("cmdai --model " + dir + "/"), (std::set<std::string>{"a.gguf", "sub"}));
  const std::set<std::string> offered = zsh_complete("cmdai --model ");
  for (const std::string& name : model_names()) EXPECT_TRUE(offered.count(name)) << name;
}

TEST_F(Completion, ZshScriptIsValidZsh) {
  if (!have("zsh")) GTEST_SKIP() << "zsh is not installed (apt-get install zsh): skipping";
  EXPECT_EQ(run("zsh -n " + shell_quote((dir_ / "zsh").string())), "");
}

TEST_F(Completion, BashAndFishScriptsAreValidShell) {
  EXPECT_EQ(run("bash -n " + shell_quote((dir_ / "bash").string())), "");
  if (have("fish")) {
    EXPECT_EQ(run("fish -n " + shell_quote((dir_ / "fish").string())), "");
  }
}

}  // namespace
}  // namespace cmdai::cli
