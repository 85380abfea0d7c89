#include "safety/fish_variables.h"

#include <utility>

#include "safety/programs.h"

namespace cmdai::safety {

namespace {

constexpr char kListMarker = '\x1e';
constexpr char kValueEnd = '\x1f';

bool is_fish_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok =
        c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

struct SetOptions {
  bool erase = false;
  bool query = false;  // -q, -n, -S, -L, -h: reads variables, assigns nothing
  bool append = false;
  bool prepend = false;
  bool unknown = false;  // an option that comes from a variable
};

// fish's `set` reads options only before the first operand; `--` ends them. Returns the index of
// the first operand.
size_t read_set_options(const std::vector<Expanded>& words, SetOptions& options) {
  size_t i = 1;
  for (; i < words.size(); ++i) {
    const std::string& text = words[i].text;
    if (words[i].dynamic) {
      options.unknown = true;
      return i;
    }
    if (text == "--") return i + 1;
    if (text.size() < 2 || text[0] != '-') return i;
    if (text[1] == '-') {
      const std::string_view name = std::string_view(text).substr(2);
      options.erase |= name == "erase";
      options.query |= is_any(name, {"query", "names", "show", "long", "help"});
      options.append |= name == "append";
      options.prepend |= name == "prepend";
      continue;
    }
    for (size_t k = 1; k < text.size(); ++k) {
      options.erase |= text[k] == 'e';
      options.query |= std::string_view("qnSLh").find(text[k]) != std::string_view::npos;
      options.append |= text[k] == 'a';
      options.prepend |= text[k] == 'p';
    }
  }
  return i;
}

// fish reads `{$x}` as the value of x (braces that set a variable apart from the text after
// it: `{$x}m` with x=r runs rm), while `{a}` stays literal.
Word without_variable_braces(const Word& word) {
  Word out = word;
  for (size_t p = 1; p + 1 < out.parts.size(); ++p) {
    WordPart& before = out.parts[p - 1];
    WordPart& after = out.parts[p + 1];
    if (out.parts[p].kind != PartKind::kVariable || out.parts[p].quoted ||
        before.kind != PartKind::kLiteral || before.quoted || before.text.empty() ||
        before.text.back() != '{' || after.kind != PartKind::kLiteral || after.quoted ||
        after.text.empty() || after.text[0] != '}') {
      continue;
    }
    before.text.pop_back();
    after.text.erase(0, 1);
  }
  return out;
}

}  // namespace

std::string encode_fish_list(const std::vector<std::string>& values) {
  std::string stored(1, kListMarker);
  for (const std::string& value : values) {
    stored += value;
    stored += kValueEnd;
  }
  return stored;
}

std::vector<std::string> decode_fish_list(std::string_view stored) {
  if (stored.empty() || stored[0] != kListMarker) return {std::string(stored)};
  std::vector<std::string> values;
  size_t begin = 1;
  for (size_t end = stored.find(kValueEnd, begin); end != std::string_view::npos;
       end = stored.find(kValueEnd, begin)) {
    values.emplace_back(stored.substr(begin, end - begin));
    begin = end + 1;
  }
  return values;
}

std::vector<std::string> apply_fish_set(const std::vector<Expanded>& words, bool conditional,
                                        Vars& vars) {
  SetOptions options;
  size_t i = read_set_options(words, options);
  if (options.unknown || (i < words.size() && words[i].dynamic)) {
    vars.clear();  // `set $name ...`, `set $opt x ...`: any variable may have changed
    return {};
  }
  if (options.query || i >= words.size()) return {};
  if (options.erase) {
    for (; i < words.size(); ++i) vars.erase(words[i].text.substr(0, words[i].text.find('[')));
    return {};
  }
  const std::string& target = words[i].text;
  const std::string name = target.substr(0, target.find('['));
  if (!is_fish_name(name)) return {};  // fish refuses the command
  std::vector<std::string> values;
  bool known = !conditional && name.size() == target.size();  // `set x[1] v`: one element
  for (size_t v = i + 1; v < words.size(); ++v) {
    const Expanded& word = words[v];
    known &= !word.dynamic && !word.glob && !word.limit &&
             word.text.find_first_of(std::string{kListMarker, kValueEnd}) == std::string::npos;
    values.push_back(word.text);
  }
  std::string joined;
  for (const std::string& value : values) joined += (joined.empty() ? "" : " ") + value;
  const auto old = vars.find(name);
  if (options.append || options.prepend) {
    if (old == vars.end()) known = false;  // appended to a value not known here
    if (known) {
      std::vector<std::string> list = decode_fish_list(old->second);
      list.insert(options.append ? list.end() : list.begin(), values.begin(), values.end());
      values = std::move(list);
    }
  }
  if (known) {
    vars[name] = encode_fish_list(values);
  } else {
    vars.erase(name);
  }
  return {name + "=" + joined};
}

void append_fish_expanded(std::vector<Expanded>& words, const Word& written, const Vars& vars) {
  const Word word = without_variable_braces(written);
  // Unquoted variables whose known list does not hold exactly one value multiply the word.
  std::vector<std::pair<size_t, std::vector<std::string>>> lists;
  size_t combinations = 1;
  for (size_t p = 0; p < word.parts.size(); ++p) {
    const WordPart& part = word.parts[p];
    if (part.kind != PartKind::kVariable || part.quoted) continue;
    const auto known = vars.find(part.text);
    if (known == vars.end()) continue;
    std::vector<std::string> values = decode_fish_list(known->second);
    if (values.size() == 1) continue;
    combinations *= values.size();
    lists.emplace_back(p, std::move(values));
    if (combinations == 0 || combinations >= kMaxBraceWords) break;
  }
  if (lists.empty()) {
    append_expanded(words, expand_word(word, vars, Dialect::kFish));
    return;
  }
  if (combinations == 0) return;  // an empty list: fish drops the whole word
  if (combinations >= kMaxBraceWords) {
    Expanded too_many = expand_word(word, vars, Dialect::kFish);
    too_many.limit = true;
    words.push_back(std::move(too_many));
    return;
  }
  for (size_t n = 0; n < combinations; ++n) {
    Word copy = word;
    size_t rest = n;
    // The first variable varies slowest, as fish orders the products.
    for (auto it = lists.rbegin(); it != lists.rend(); ++it) {
      const std::vector<std::string>& values = it->second;
      copy.parts[it->first] = WordPart{PartKind::kLiteral, values[rest % values.size()], true};
      rest /= values.size();
    }
    append_expanded(words, expand_word(copy, vars, Dialect::kFish));
  }
}

}  // namespace cmdai::safety
