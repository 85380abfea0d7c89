#include "cli/command_tree.h"

#include <algorithm>
#include <stdexcept>

namespace cmdai::cli {
namespace {

ValueHint words(std::vector<std::string> list) {
  return {ValueHint::Kind::kWords, std::move(list), ""};
}
ValueHint files(std::string suffix) { return {ValueHint::Kind::kFiles, {}, std::move(suffix)}; }
ValueHint model() { return {ValueHint::Kind::kModel, {}, ""}; }
ValueHint model_names() { return {ValueHint::Kind::kModelNames, {}, ""}; }

// The name a hint entry uses for an option: its first long name ("--output"), else its first
// short one ("-o"), else (a positional) its own name ("shell").
std::string hint_key(const CLI::Option& option) {
  if (option.get_positional()) return option.get_name();
  if (!option.get_lnames().empty()) return "--" + option.get_lnames().front();
  return "-" + option.get_snames().front();
}

// A CLI::IsMember validator describes itself as "{a,b,c}": those are the words to offer.
std::vector<std::string> member_words(const CLI::Option& option) {
  std::vector<std::string> result;
  for (int i = 0;; ++i) {
    const CLI::Validator* validator = nullptr;
    try {
      validator = const_cast<CLI::Option&>(option).get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      break;
    }
    const std::string desc = validator->get_description();
    if (desc.size() < 2 || desc.front() != '{' || desc.back() != '}') continue;
    std::string word;
    for (char c : desc.substr(1, desc.size() - 2) + ",") {
      if (c != ',') {
        word += c;
      } else if (!word.empty()) {
        result.push_back(word);
        word.clear();
      }
    }
  }
  return result;
}

ValueHint hint_for(const std::string& path, const CLI::Option& option) {
  const std::string key = hint_key(option);
  for (const std::string& want : {path, std::string("*")}) {
    for (const HintEntry& entry : value_hints()) {
      if (entry.command == want && entry.name == key) return entry.hint;
    }
  }
  if (auto list = member_words(option); !list.empty()) return words(std::move(list));
  return {};
}

OptionInfo describe_option(const std::string& path, const CLI::Option& option) {
  OptionInfo info;
  for (const std::string& s : option.get_snames()) info.names.push_back("-" + s);
  for (const std::string& l : option.get_lnames()) info.names.push_back("--" + l);
  info.description = option.get_description();
  if (option.get_items_expected_max() > 0) {
    info.value_name = option.get_type_name();
    if (info.value_name.empty()) info.value_name = "VALUE";
  }
  info.repeats = option.get_expected_max() > 1 ||
                 option.get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
  info.hint = hint_for(path, option);
  return info;
}

CommandInfo describe(const CLI::App& app, const std::string& path) {
  CommandInfo info;
  info.name = app.get_name();
  info.path = path;
  info.description = app.get_description();
  info.footer = app.get_footer();
  for (const CLI::Option* option : app.get_options({})) {
    if (option->get_group().empty()) continue;  // hidden
    if (!option->get_positional()) {
      info.options.push_back(describe_option(path, *option));
      continue;
    }
    PositionalInfo positional;
    positional.name = option->get_name();
    positional.description = option->get_description();
    positional.repeats = option->get_items_expected_max() > 1;
    positional.required = option->get_required();
    positional.hint = hint_for(path, *option);
    info.positionals.push_back(std::move(positional));
  }
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_group().empty()) continue;  // hidden
    const std::string sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    info.subcommands.push_back(describe(*sub, sub_path));
  }
  return info;
}

}  // namespace

const std::vector<HintEntry>& value_hints() {
  // Options whose values are checked later (by config, the device registry or the command) rather
  // than by a CLI11 validator; a CLI::IsMember validator speaks for itself (see member_words).
  static const std::vector<HintEntry> table = {
      {"", "--shell", words({"bash", "zsh", "fish", "sh"})},
      {"", "--safety", words({"strict", "moderate", "permissive"})},
      {"", "--output", words({"plain", "json", "yaml"})},
      {"", "--model", model()},
      {"*", "--backend", words({"auto", "cpu", "cuda", "mlx", "openai", "ollama"})},
      {"", "--fallback", words({"none", "embedded", "openai", "ollama"})},
      {"*", "--model", files(".gguf")},
      {"model path", "model", model()},
      {"model pull", "model", model_names()},
      {"model rm", "model", model_names()},
      {"model inspect", "model", model()},
      {"model synth", "--shape", words({"tiny", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"})},
      {"model synth", "--quant", words({"f16", "q8_0", "q4_k_m"})},
      {"model synth", "--vocab-from", files(".gguf")},
      {"model synth", "--out", files("")},
      {"tokenize", "--file", files("")},
      {"logits", "--last-out", files("")},
      {"init", "shell", words({"bash", "zsh", "fish"})},
      {"completion", "shell", words({"bash", "zsh", "fish"})},
  };
  return table;
}

CommandInfo describe_command_line(const CLI::App& app) { return describe(app, ""); }

}  // namespace cmdai::cli
