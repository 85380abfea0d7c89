#include "safety/aliases.h"

#include "safety/programs.h"

namespace cmdai::safety {

namespace {

// `text` quoted so that the shell of `dialect` reads it back as one literal word.
std::string quote_word(const std::string& text, Dialect dialect) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += dialect == Dialect::kFish ? "\\'" : "'\\''";
    } else if (c == '\\' && dialect == Dialect::kFish) {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string join_from(const std::vector<Expanded>& words, size_t from) {
  std::string joined;
  for (size_t i = from; i < words.size(); ++i) {
    joined += (joined.empty() ? "" : " ") + words[i].text;
  }
  return joined;
}

}  // namespace

std::vector<std::string> AliasTable::record(const std::vector<Expanded>& words, Dialect dialect) {
  if (words.empty()) return {};
  const std::string& program = words[0].text;
  if (program == "abbr" && dialect == Dialect::kFish) return record_fish_abbr(words);
  if (program == "unalias") {
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i].text == "-a") {
        plain_.clear();
        global_.clear();
        suffix_.clear();
      }
      plain_.erase(words[i].text);
      global_.erase(words[i].text);
      suffix_.erase(words[i].text);
    }
    return {};
  }
  if (program != "alias") return {};
  bool global = false;
  bool suffix = false;
  std::vector<std::string> values;
  size_t i = 1;
  for (; i < words.size() && !words[i].text.empty() &&
         (words[i].text[0] == '-' || words[i].text[0] == '+');
       ++i) {
    if (words[i].text == "--") {
      ++i;
      break;
    }
    global |= words[i].text.find('g') != std::string::npos && words[i].text[0] == '-';
    suffix |= words[i].text.find('s') != std::string::npos && words[i].text[0] == '-' &&
              dialect == Dialect::kZsh;
  }
  if (dialect == Dialect::kFish && i + 1 < words.size() &&
      words[i].text.find('=') == std::string::npos) {
    // fish `alias NAME DEFINITION...`: a function that runs DEFINITION with its arguments.
    const std::string value = join_from(words, i + 1);
    plain_[words[i].text] = value;
    return {value};
  }
  for (; i < words.size(); ++i) {
    const std::string& text = words[i].text;
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) continue;  // `alias x` prints x
    const std::string name = text.substr(0, eq);
    const std::string value = text.substr(eq + 1);
    // A global alias is a piece of a command (`| sh`): it is rated where it is used. A value
    // not known here is rated, not replayed.
    const bool zsh_global = global && dialect == Dialect::kZsh;
    if (!value.empty() && (!zsh_global || words[i].dynamic)) values.push_back(value);
    if (words[i].dynamic) continue;
    if (global && dialect == Dialect::kZsh) {
      global_[name] = value;
    } else if (suffix) {
      suffix_[name] = value;
    } else if (!global || dialect == Dialect::kFish) {
      plain_[name] = value;
    }
  }
  return values;
}

// fish `abbr --add NAME [--position P] [--regex R] [--set-cursor[=M]] EXPANSION...`: typed as a
// command, NAME is replaced by EXPANSION. `--function F` names a function defined elsewhere.
std::vector<std::string> AliasTable::record_fish_abbr(const std::vector<Expanded>& words) {
  std::vector<std::string> operands;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& text = words[i].text;
    if (operands.empty() && is_any(text, {"-e", "--erase", "-l", "--list", "-s", "--show", "-q",
                                          "--query", "-r", "--rename", "-h", "--help"})) {
      if (text == "-e" || text == "--erase") {
        for (size_t k = i + 1; k < words.size(); ++k) plain_.erase(words[k].text);
      }
      return {};
    }
    if (is_any(text, {"-p", "--position", "--regex", "-f", "--function"})) {
      if (text == "-f" || text == "--function") return {};
      ++i;
      continue;
    }
    if (!text.empty() && text[0] == '-' && operands.size() < 2) continue;  // -a, -g, -U, ...
    operands.push_back(text);
  }
  if (operands.size() < 2) return {};
  std::string value;
  for (size_t i = 1; i < operands.size(); ++i) value += (i > 1 ? " " : "") + operands[i];
  plain_[operands[0]] = value;
  return {value};
}

std::optional<AliasUse> AliasTable::expand(const std::vector<Expanded>& words,
                                           const std::set<std::string>& active,
                                           Dialect dialect) const {
  if (words.empty() || (plain_.empty() && global_.empty() && suffix_.empty())) return std::nullopt;
  AliasUse use;
  std::string text;
  auto usable = [&active](const std::map<std::string, std::string>& table,
                          const std::string& name) -> const std::string* {
    if (active.count(name) != 0) return nullptr;
    const auto found = table.find(name);
    return found == table.end() ? nullptr : &found->second;
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const Expanded& word = words[i];
    const std::string* value = nullptr;
    std::string name = word.text;
    if (!word.dynamic && i == 0) value = usable(plain_, name);
    if (!word.dynamic && value == nullptr) value = usable(global_, name);
    std::string replaced;
    if (value != nullptr) {
      replaced = *value;
    } else if (!word.dynamic && i == 0) {
      const size_t dot = name.rfind('.');
      if (dot != std::string::npos && dot > 0 && dot + 1 < name.size()) {
        name = name.substr(dot + 1);
        value = usable(suffix_, name);
        if (value != nullptr) replaced = *value + " " + quote_word(word.text, dialect);
      }
    }
    if (value != nullptr) use.names.push_back(name);
    text += (i == 0 ? "" : " ");
    text += value != nullptr ? replaced : word.dynamic ? word.text : quote_word(word.text, dialect);
  }
  if (use.names.empty()) return std::nullopt;
  use.text = std::move(text);
  return use;
}

}  // namespace cmdai::safety
