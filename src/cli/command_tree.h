// The cmdai command line as plain data, read from its CLI11 definition (build_app): commands,
// options, positionals, their descriptions and what their values complete to. The completion
// scripts and the man page are generated from it, so they list exactly the flags the parser takes.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace cmdai::cli {

// What a typed value completes to.
struct ValueHint {
  enum class Kind {
    kNone,        // free text or a number: nothing to offer
    kWords,       // one of `words`
    kFiles,       // files matching `file_suffix` ("" = any file) and directories
    kModel,       // the names `cmdai model list` shows, *.gguf files and directories
    kModelNames,  // only the names `cmdai model list` shows
  };
  Kind kind = Kind::kNone;
  std::vector<std::string> words;
  std::string file_suffix;
};

struct OptionInfo {
  std::vector<std::string> names;  // as typed, short ones first: {"-o", "--output"}
  std::string description;
  std::string value_name;  // "" for a flag; otherwise e.g. "TEXT", "INT"
  bool repeats = false;    // may be given more than once
  ValueHint hint;

  bool takes_value() const { return !value_name.empty(); }
};

struct PositionalInfo {
  std::string name;
  std::string description;
  bool repeats = false;  // takes every remaining word
  bool required = false;
  ValueHint hint;
};

struct CommandInfo {
  std::string name;  // "cmdai" at the root, else the subcommand's own name ("pull")
  std::string path;  // the words after "cmdai" that select it: "", "model", "model pull"
  std::string description;
  std::string footer;
  std::vector<OptionInfo> options;  // --help included
  std::vector<PositionalInfo> positionals;
  std::vector<CommandInfo> subcommands;
};

// The visible part of `app` (hidden options and subcommands, those with an empty group, are left
// out), with the value hints that belong to its options.
CommandInfo describe_command_line(const CLI::App& app);

// The value hints as a table, for the test that each one still names an option of the tree:
// (command path or "*" for any command, option or positional name, hint).
struct HintEntry {
  const char* command;
  const char* name;
  ValueHint hint;
};
const std::vector<HintEntry>& value_hints();

}  // namespace cmdai::cli
