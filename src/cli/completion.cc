#include "cli/completion.h"

#include <fmt/format.h>

#include <functional>

namespace cmdai::cli {
namespace {

// Every command, the root first, parents before children.
std::vector<const CommandInfo*> all_commands(const CommandInfo& root) {
  std::vector<const CommandInfo*> result = {&root};
  for (const CommandInfo& sub : root.subcommands) {
    for (const CommandInfo* c : all_commands(sub)) result.push_back(c);
  }
  return result;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// A description on one line (completion menus show one line per candidate).
std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) out += (c == '\n' || c == '\t') ? ' ' : c;
  while (out.find("  ") != std::string::npos) out.replace(out.find("  "), 2, " ");
  return out;
}

// `text` as one single-quoted word for bash or zsh.
std::string sh_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// `text` as one single-quoted word for fish (inside quotes only \ and ' are special).
std::string fish_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::vector<std::string> subcommand_names(const CommandInfo& command) {
  std::vector<std::string> names;
  for (const CommandInfo& sub : command.subcommands) names.push_back(sub.name);
  return names;
}

// The case arms, shared by bash and fish, that walk the words before the cursor: which words
// select a subcommand and which options take the next word as their value.
struct ScanArms {
  // Per command path, the names of its options that take a value: {"model pull", {"--sha256"}}.
  std::vector<std::pair<std::string, std::vector<std::string>>> value_options;
  std::vector<std::pair<std::string, std::string>> subcommands;  // "model:pull" -> "model pull"
};

ScanArms scan_arms(const CommandInfo& root) {
  ScanArms arms;
  for (const CommandInfo* command : all_commands(root)) {
    std::vector<std::string> names;
    for (const OptionInfo& option : command->options) {
      if (!option.takes_value()) continue;
      names.insert(names.end(), option.names.begin(), option.names.end());
    }
    if (!names.empty()) arms.value_options.push_back({command->path, names});
    for (const CommandInfo& sub : command->subcommands) {
      arms.subcommands.push_back({command->path + ":" + sub.name, sub.path});
    }
  }
  return arms;
}

// ---- bash -------------------------------------------------------------------------------------

std::string bash_value_action(const ValueHint& hint) {
  switch (hint.kind) {
    case ValueHint::Kind::kNone:
      return ":";
    case ValueHint::Kind::kWords:
      return "__cmdai_add -W " + sh_quote(join(hint.words, " ")) + " -- \"$2\"";
    case ValueHint::Kind::kFiles:
      return "__cmdai_files \"$2\" " + sh_quote(hint.file_suffix);
    case ValueHint::Kind::kModel:
      return "__cmdai_models \"$2\"; __cmdai_files \"$2\" .gguf";
    case ValueHint::Kind::kModelNames:
      return "__cmdai_models \"$2\"";
  }
  return ":";
}

constexpr const char* kBashHead =
    R"BASH(# bash completion for cmdai, generated from its flag definitions by `cmdai completion bash`.
# Use: source <(cmdai completion bash), or install it as
# /usr/share/bash-completion/completions/cmdai (cmake --install does).

# Appends compgen's answers to COMPREPLY, one per line (so names with spaces survive).
__cmdai_add() {
  local line
  while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen "$@" 2>/dev/null)
}
__cmdai_models() {
  __cmdai_add -W "$(command cmdai model list --names 2>/dev/null)" -- "$1"
}
# $1: the word so far; $2: the suffix files must have ("" for any file). Directories always.
__cmdai_files() {
  compopt -o filenames 2>/dev/null
  if [[ -z $2 ]]; then
    __cmdai_add -f -- "$1"
  else
    __cmdai_add -d -- "$1"
    __cmdai_add -f -X "!*$2" -- "$1"
  fi
}
)BASH";

constexpr const char* kBashMain = R"BASH(
_cmdai() {
  local cur=${COMP_WORDS[COMP_CWORD]} __cmdai_path __cmdai_npos __cmdai_want __cmdai_dashes
  COMPREPLY=()
  __cmdai_scan
  if [[ -n $__cmdai_want ]]; then
    [[ $cur == = ]] && cur=""
    __cmdai_value "$__cmdai_path:$__cmdai_want" "$cur"
  elif [[ $cur == -* ]] && ((!__cmdai_dashes)); then
    __cmdai_add -W "$(__cmdai_options "$__cmdai_path")" -- "$cur"
  else
    ((__cmdai_npos == 0 && !__cmdai_dashes)) &&
      __cmdai_add -W "$(__cmdai_subcommands "$__cmdai_path")" -- "$cur"
    __cmdai_value "$__cmdai_path:@$__cmdai_npos" "$cur"
  fi
  return 0
}
complete -F _cmdai cmdai
)BASH";

std::string bash_script(const CommandInfo& root) {
  const std::vector<const CommandInfo*> commands = all_commands(root);
  const ScanArms arms = scan_arms(root);
  std::string out = kBashHead;

  out +=
      "\n# Reads the words before the cursor: the subcommand path, how many positional words "
      "follow\n# it, and the option whose value is being typed (bash splits --opt=value at "
      "'=').\n__cmdai_scan() {\n"
      "  __cmdai_path='' __cmdai_npos=0 __cmdai_want='' __cmdai_dashes=0\n"
      "  local i word\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    word=${COMP_WORDS[i]}\n"
      "    if [[ -n $__cmdai_want ]]; then\n"
      "      [[ $word == = ]] || __cmdai_want=''\n"
      "      continue\n"
      "    fi\n"
      "    if ((__cmdai_dashes)); then ((__cmdai_npos++)); continue; fi\n"
      "    case \"$__cmdai_path:$word\" in\n"
      "      *:--) __cmdai_dashes=1 ;;\n";
  for (const auto& [path, names] : arms.value_options) {
    std::vector<std::string> keys;
    for (const std::string& name : names) keys.push_back(sh_quote(path + ":" + name));
    out += fmt::format("      {}) __cmdai_want=$word ;;\n", join(keys, " | "));
  }
  for (const auto& [arm, path] : arms.subcommands) {
    out +=
        fmt::format("      {}) __cmdai_path={} __cmdai_npos=0 ;;\n", sh_quote(arm), sh_quote(path));
  }
  out +=
      "      *:-*) ;;\n"
      "      *) ((__cmdai_npos++)) ;;\n"
      "    esac\n"
      "  done\n"
      "}\n";

  out += "\n__cmdai_options() {\n  case \"$1\" in\n";
  for (const CommandInfo* command : commands) {
    std::vector<std::string> names;
    for (const OptionInfo& option : command->options) {
      for (const std::string& name : option.names) names.push_back(name);
    }
    out += fmt::format("    {}) echo {} ;;\n", sh_quote(command->path), sh_quote(join(names, " ")));
  }
  out += "  esac\n}\n";

  out += "\n__cmdai_subcommands() {\n  case \"$1\" in\n";
  for (const CommandInfo* command : commands) {
    if (command->subcommands.empty()) continue;
    out += fmt::format("    {}) echo {} ;;\n", sh_quote(command->path),
                       sh_quote(join(subcommand_names(*command), " ")));
  }
  out += "  esac\n}\n";

  // $1: "path:--option" or "path:@index" (a positional); $2: the word so far.
  out += "\n__cmdai_value() {\n  case \"$1\" in\n";
  for (const CommandInfo* command : commands) {
    for (const OptionInfo& option : command->options) {
      if (!option.takes_value()) continue;
      std::vector<std::string> keys;
      for (const std::string& name : option.names)
        keys.push_back(sh_quote(command->path + ":" + name));
      out += fmt::format("    {}) {} ;;\n", join(keys, " | "), bash_value_action(option.hint));
    }
    // Positionals in order, so that a repeating one (matched by '@*') comes after the fixed ones.
    for (size_t i = 0; i < command->positionals.size(); ++i) {
      const PositionalInfo& positional = command->positionals[i];
      const std::string key = positional.repeats
                                  ? sh_quote(command->path + ":@") + "*"
                                  : sh_quote(command->path + ":@" + std::to_string(i));
      out += fmt::format("    {}) {} ;;\n", key, bash_value_action(positional.hint));
    }
  }
  out += "  esac\n}\n";
  out += kBashMain;
  return out;
}

// ---- zsh --------------------------------------------------------------------------------------

std::string zsh_function_name(const CommandInfo& command) {
  std::string name = "_cmdai";
  for (char c : command.path) name += (c == ' ' || c == '-') ? '_' : c;
  if (!command.path.empty()) name.insert(6, "_");
  return name;
}

// Text inside an _arguments spec: [ ] : and \ are special there.
std::string zsh_escape(const std::string& text) {
  std::string out;
  for (char c : one_line(text)) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string zsh_value_action(const ValueHint& hint) {
  switch (hint.kind) {
    case ValueHint::Kind::kNone:
      return " ";
    case ValueHint::Kind::kWords:
      return "(" + join(hint.words, " ") + ")";
    case ValueHint::Kind::kFiles:
      return hint.file_suffix.empty() ? "_files" : "_files -g \"*" + hint.file_suffix + "\"";
    case ValueHint::Kind::kModel:
      return "_cmdai_model_or_file";
    case ValueHint::Kind::kModelNames:
      return "_cmdai_model_names";
  }
  return " ";
}

// One _arguments spec (a shell word) per option, e.g.
// '(-o --output)'{-o,--output=}'[plain, json or yaml]:TEXT:(plain json yaml)'
std::string zsh_option_spec(const OptionInfo& option) {
  std::vector<std::string> forms;
  for (const std::string& name : option.names) {
    const bool is_long = name.rfind("--", 0) == 0;
    forms.push_back(option.takes_value() && is_long ? name + "=" : name);
  }
  std::string spec;
  if (option.repeats) {
    spec = "'*'";
  } else if (option.names.size() > 1) {
    spec = "'(" + join(option.names, " ") + ")'";
  }
  spec += forms.size() > 1 ? "{" + join(forms, ",") + "}" : forms.front();
  std::string rest = "[" + zsh_escape(option.description) + "]";
  if (option.takes_value()) {
    rest += ":" + zsh_escape(option.value_name) + ":" + zsh_value_action(option.hint);
  }
  return spec + sh_quote(rest);
}

std::string zsh_function(const CommandInfo& command) {
  std::string out = fmt::format("\n{}() {{\n", zsh_function_name(command));
  const bool dispatch = !command.subcommands.empty();
  if (dispatch) {
    out += "  local curcontext=\"$curcontext\" state state_descr line ret=1\n";
    out += "  typeset -A opt_args\n";
  }
  out += dispatch ? "  _arguments -C -S \\\n" : "  _arguments -S \\\n";
  for (const OptionInfo& option : command.options) {
    out += "    " + zsh_option_spec(option) + " \\\n";
  }
  if (dispatch) {
    // The first word is a subcommand (or, at the top, the first word of a request).
    out += "    '1: :->command' \\\n    '*:: :->args' && ret=0\n";
    out += "  case $state in\n    command)\n      local -a commands\n      commands=(\n";
    for (const CommandInfo& sub : command.subcommands) {
      out += "        " + sh_quote(sub.name + ":" + one_line(sub.description)) + "\n";
    }
    out += fmt::format(
        "      )\n      _describe -t commands {} commands && ret=0 ;;\n    args)\n"
        "      case $words[1] in\n",
        sh_quote(command.path.empty() ? "cmdai command" : "cmdai " + command.path + " command"));
    for (const CommandInfo& sub : command.subcommands) {
      out += fmt::format("        {}) {} && ret=0 ;;\n", sub.name, zsh_function_name(sub));
    }
    out += "      esac ;;\n  esac\n  return ret\n}\n";
    return out;
  }
  for (size_t i = 0; i < command.positionals.size(); ++i) {
    const PositionalInfo& p = command.positionals[i];
    const std::string position = p.repeats ? "*" : std::to_string(i + 1);
    const std::string optional = p.required || p.repeats ? "" : ":";
    out +=
        "    " +
        sh_quote(position + ":" + optional + zsh_escape(p.name) + ":" + zsh_value_action(p.hint)) +
        " \\\n";
  }
  out.resize(out.size() - 3);  // the last " \\\n"
  out += "\n}\n";
  return out;
}

constexpr const char* kZshHead = R"ZSH(#compdef cmdai
# zsh completion for cmdai, generated from its flag definitions by `cmdai completion zsh`.
# Use: source <(cmdai completion zsh) after compinit, or install it as _cmdai in a directory on
# $fpath (cmake --install puts it in share/zsh/vendor-completions).

_cmdai_model_names() {
  local -a names
  names=(${(f)"$(_call_program models command cmdai model list --names 2>/dev/null)"})
  _wanted models expl 'model name' compadd -a names
}
_cmdai_model_or_file() {
  _alternative 'models:model name:_cmdai_model_names' 'files:model file:_files -g "*.gguf"'
}
)ZSH";

constexpr const char* kZshTail = R"ZSH(
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _cmdai "$@"
else
  compdef _cmdai cmdai
fi
)ZSH";

std::string zsh_script(const CommandInfo& root) {
  std::string out = kZshHead;
  for (const CommandInfo* command : all_commands(root)) out += zsh_function(*command);
  out += kZshTail;
  return out;
}

// ---- fish -------------------------------------------------------------------------------------

// The arguments of a `complete` line that offer a value: for an option (`-r`: it takes one, `-x`:
// and it is not a file unless offered) or for a positional word.
std::string fish_value_args(const ValueHint& hint, bool option) {
  const std::string exclusive = option ? " -x" : "";
  switch (hint.kind) {
    case ValueHint::Kind::kNone:
      return exclusive;
    case ValueHint::Kind::kWords:
      return exclusive + " -a " + fish_quote(join(hint.words, " "));
    case ValueHint::Kind::kFiles:
      if (hint.file_suffix.empty()) return option ? " -r -F" : " -F";
      return exclusive + " -a " + fish_quote("(__cmdai_files " + hint.file_suffix + ")");
    case ValueHint::Kind::kModel:
      return exclusive + " -a " + fish_quote("(__cmdai_files .gguf) (__cmdai_model_names)");
    case ValueHint::Kind::kModelNames:
      return exclusive + " -a '(__cmdai_model_names)'";
  }
  return exclusive;
}

constexpr const char* kFishHead =
    R"FISH(# fish completion for cmdai, generated from its flag definitions by `cmdai completion fish`.
# Use: cmdai completion fish | source, or install it as
# /usr/share/fish/vendor_completions.d/cmdai.fish (cmake --install does).

function __cmdai_model_names
    command cmdai model list --names 2>/dev/null
end
# Files ending in $suffix and directories (fish's __fish_complete_suffix offers every file).
function __cmdai_files --argument-names suffix
    set -l files (complete -C "__fish_command_without_completions "(commandline -ct))
    string match -- "*$suffix" $files
    string match -- '*/' $files
end
# True when the words before the cursor select the subcommand $path and $index positional words
# follow it ("+" after the index: at least that many).
function __cmdai_at --argument-names path index
    set -l state (string split -r -m1 : -- (__cmdai_state))
    test "$state[1]" = "$path"; or return 1
    test -z "$index"; and return 0
    if string match -q -- '*+' $index
        test $state[2] -ge (string trim -r -c + -- $index)
    else
        test $state[2] -eq $index
    end
end
complete -c cmdai -f
)FISH";

std::string fish_script(const CommandInfo& root) {
  const ScanArms arms = scan_arms(root);
  std::string out = kFishHead;
  out +=
      "\n# The subcommand path before the cursor and how many positional words follow it, as "
      "path:count.\nfunction __cmdai_state\n"
      "    set -l path ''\n    set -l npos 0\n    set -l want 0\n    set -l dashes 0\n"
      "    set -l words (commandline -opc)\n    set -e words[1]\n"
      "    for word in $words\n"
      "        if test $want = 1\n            set want 0\n"
      "        else if test $dashes = 1\n            set npos (math $npos + 1)\n"
      "        else\n            switch \"$path:$word\"\n"
      "                case '*:--'\n                    set dashes 1\n";
  for (const auto& [path, names] : arms.value_options) {
    std::vector<std::string> keys;
    for (const std::string& name : names) keys.push_back(fish_quote(path + ":" + name));
    out += "                case " + join(keys, " ") + "\n                    set want 1\n";
  }
  for (const auto& [arm, path] : arms.subcommands) {
    out += fmt::format(
        "                case {}\n                    set path {}\n"
        "                    set npos 0\n",
        fish_quote(arm), fish_quote(path));
  }
  out +=
      "                case '*:-*'\n"
      "                case '*'\n                    set npos (math $npos + 1)\n"
      "            end\n        end\n    end\n    echo \"$path:$npos\"\nend\n\n";

  for (const CommandInfo* command : all_commands(root)) {
    const std::string in = fish_quote("__cmdai_at " + fish_quote(command->path));
    for (const CommandInfo& sub : command->subcommands) {
      out += fmt::format("complete -c cmdai -n {} -a {} -d {}\n",
                         fish_quote("__cmdai_at " + fish_quote(command->path) + " 0"),
                         fish_quote(sub.name), fish_quote(one_line(sub.description)));
    }
    for (const OptionInfo& option : command->options) {
      std::string names;
      for (const std::string& name : option.names) {
        names += name.rfind("--", 0) == 0 ? " -l " + name.substr(2) : " -s " + name.substr(1);
      }
      const std::string value = option.takes_value() ? fish_value_args(option.hint, true) : "";
      out += fmt::format("complete -c cmdai -n {}{}{} -d {}\n", in, names, value,
                         fish_quote(one_line(option.description)));
    }
    for (size_t i = 0; i < command->positionals.size(); ++i) {
      const PositionalInfo& p = command->positionals[i];
      const std::string args = fish_value_args(p.hint, false);
      if (args.empty()) continue;
      const std::string index = std::to_string(i) + (p.repeats ? "+" : "");
      out += fmt::format("complete -c cmdai -n {}{} -d {}\n",
                         fish_quote("__cmdai_at " + fish_quote(command->path) + " " + index), args,
                         fish_quote(one_line(p.description)));
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> completion_script(const CommandInfo& root, std::string_view shell) {
  if (shell == "bash") return bash_script(root);
  if (shell == "zsh") return zsh_script(root);
  if (shell == "fish") return fish_script(root);
  return std::nullopt;
}

}  // namespace cmdai::cli
