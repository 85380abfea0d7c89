// `cmdai tokenize --model FILE (TEXT | --file PATH) [--parse-special] [--add-special] [--json]`:
// shows the token ids (and their bytes) that the model's own tokenizer makes of a text.
#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace cmdai::cli {
namespace {

struct TokenizeFlags {
  std::string model_path;
  std::string text;
  std::string file_path;
  bool parse_special = false;
  bool add_special = false;
  bool json = false;
};

Result<std::string> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, "cannot read '{}': check that the file exists", path);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  if (in.bad()) return make_error(ErrorCode::kIo, "reading '{}' failed", path);
  return bytes;
}

Result<std::string> input_text(const TokenizeFlags& flags, bool has_text, bool has_file) {
  if (has_text == has_file) {
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: give the text as an argument or with --file",
                      has_text ? "both a text and --file were given" : "nothing to tokenize");
  }
  if (has_file) return read_file_bytes(flags.file_path);
  return flags.text;
}

// A piece may be part of a UTF-8 character: JSON strings get U+FFFD for such bytes.
std::string quoted_piece(const std::string& piece) {
  return nlohmann::json(piece).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_tokens(const tokenizer::Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                  bool json) {
  if (json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(tokenizer.token_to_bytes(id));
    const nlohmann::json out = {{"tokens", ids}, {"pieces", pieces}};
    fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  for (int32_t id : ids) fmt::print("{}\t{}\n", id, quoted_piece(tokenizer.token_to_bytes(id)));
}

Status run_tokenize(const TokenizeFlags& flags, bool has_text, bool has_file) {
  CMDAI_ASSIGN_OR_RETURN(std::string text, input_text(flags, has_text, has_file));
  CMDAI_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::open(flags.model_path));
  CMDAI_ASSIGN_OR_RETURN(tokenizer::Tokenizer tokenizer, tokenizer::Tokenizer::from_gguf(file));
  const std::vector<int32_t> ids = tokenizer.encode(text, flags.add_special, flags.parse_special);
  print_tokens(tokenizer, ids, flags.json);
  return ok_status();
}

void setup_tokenize(CLI::App& app, CliContext& context) {
  static TokenizeFlags flags;
  CLI::App* command =
      app.add_subcommand("tokenize", "Show the token ids a model's tokenizer makes of a text");
  command->add_option("--model", flags.model_path, "Path to a .gguf model (or vocab) file")
      ->required();
  CLI::Option* text = command->add_option("text", flags.text, "The text to tokenize");
  CLI::Option* file =
      command->add_option("--file", flags.file_path, "Tokenize the exact bytes of this file");
  command->add_flag("--parse-special", flags.parse_special,
                    "Turn control tokens written in the text (e.g. <|im_start|>) into their ids");
  command->add_flag("--add-special", flags.add_special,
                    "Add BOS/EOS where the model's tokenizer asks for them");
  command->add_flag("--json", flags.json,
                    "Print one JSON object {\"tokens\": [...], \"pieces\": [...]}");
  command->callback([&context, text, file] {
    const Status status = run_tokenize(flags, text->count() > 0, file->count() > 0);
    if (!status.ok()) {
      fmt::print(stderr, "cmdai: error: {}\n", status.error().message);
      context.exit_code = exit_code_for(status.error());
    }
  });
}

CMDAI_REGISTER_COMMAND(setup_tokenize);

}  // namespace
}  // namespace cmdai::cli
