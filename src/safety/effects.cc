#include "safety/effects.h"

#include "safety/arg_scan.h"
#include "safety/paths.h"
#include "safety/programs.h"

namespace cmdai::safety {
namespace {

bool is_digits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789-") == std::string::npos;
}

// Destination of cp/mv/ln/install: -t DIR, else the last of two or more operands.
void add_destination(const ScannedArgs& scanned, std::vector<std::string>& out) {
  if (const std::string* dir = scanned.value("t")) {
    out.push_back(*dir);
  } else if (const std::string* dir_long = scanned.value("target-directory")) {
    out.push_back(*dir_long);
  } else if (scanned.operands.size() >= 2) {
    out.push_back(scanned.operands.back());
  }
}

// Files edited by `sed -i` / `perl -i`: operands after the script (unless -e/-f gave it).
void add_in_place_files(const ScannedArgs& scanned, std::vector<std::string>& out) {
  const bool script_in_option = scanned.value("e") || scanned.value("f") ||
                                scanned.value("expression") || scanned.value("file");
  for (size_t i = script_in_option ? 0 : 1; i < scanned.operands.size(); ++i) {
    out.push_back(scanned.operands[i]);
  }
}

}  // namespace

std::vector<std::string> redirected_files(const Invocation& invocation) {
  std::vector<std::string> out;
  for (const RedirectionTarget& redirection : invocation.redirections) {
    const std::string& op = redirection.op;
    const bool writes = op == ">" || op == ">>" || op == ">|" || op == "&>" || op == "&>>" ||
                        op == "<>" || (op == ">&" && !is_digits(redirection.target));
    if (!writes || redirection.target.empty() || is_harmless_sink(redirection.target)) continue;
    out.push_back(redirection.target);
  }
  return out;
}

std::vector<std::string> written_paths(const Invocation& invocation) {
  std::vector<std::string> out = redirected_files(invocation);
  const std::string& program = invocation.program;
  const std::vector<std::string>& args = invocation.args;
  if (program == "tee" || program == "shred") {
    for (const std::string& operand : scan_args(args, "nsx", {"iterations", "size"}).operands) {
      out.push_back(operand);
    }
  } else if (program == "cp" || program == "mv" || program == "ln" || program == "install" ||
             program == "rsync" || program == "scp") {
    add_destination(
        scan_args(args, "tSmogP", {"target-directory", "suffix", "mode", "owner", "group"}), out);
  } else if (program == "dd") {
    for (const std::string& arg : args) {
      if (arg.rfind("of=", 0) == 0) out.push_back(arg.substr(3));
    }
  } else if (program == "truncate") {
    for (const std::string& operand : scan_args(args, "sr", {"size", "reference"}).operands) {
      out.push_back(operand);
    }
  } else if (program == "sed") {
    const ScannedArgs scanned = scan_args(args, "efl", {"expression", "file", "line-length"});
    if (scanned.has('i') || scanned.has_long("in-place") || scanned.value("in-place")) {
      add_in_place_files(scanned, out);
    }
  } else if (program == "perl") {
    const ScannedArgs scanned = scan_args(args, "eE", {});
    if (scanned.has('i')) add_in_place_files(scanned, out);
  } else if (program == "sort" || program == "shuf") {
    const ScannedArgs scanned = scan_args(args, "otkSTn", {"output", "key", "field-separator"});
    if (const std::string* file = scanned.value("o")) out.push_back(*file);
    if (const std::string* file = scanned.value("output")) out.push_back(*file);
  } else if (program == "tar" || program == "unzip" || program == "bsdtar") {
    // Extracting into a directory writes under it (tar -x -C DIR, unzip -d DIR).
    const ScannedArgs scanned =
        scan_args(args, program == "unzip" ? "dxP" : "CfbHIKLNTVX", {"directory", "file"});
    const bool extracts =
        program == "unzip" || scanned.has('x') || scanned.has_long("extract") ||
        scanned.has_long("get") ||
        (!args.empty() && args[0].find('x') != std::string::npos && args[0][0] != '-');
    for (std::string_view option : {"C", "d", "directory"}) {
      if (const std::string* dir = scanned.value(option); dir && extracts) out.push_back(*dir);
    }
  } else if (program == "xxd" || program == "uniq") {
    const ScannedArgs scanned = scan_args(args, "cglosfw", {});
    if ((program == "uniq" || scanned.has('r')) && scanned.operands.size() >= 2) {
      out.push_back(scanned.operands[1]);
    }
  } else if (is_any(program,
                    {"openssl", "gcc",    "cc",      "g++",      "clang",  "clang++", "ld",
                     "as",      "zstd",   "unzstd",  "lz4",      "brotli", "lzip",    "lzop",
                     "plzip",   "gpg",    "gpg2",    "age",      "iconv",  "pandoc",  "nasm",
                     "rustc",   "zig",    "objcopy", "msgfmt",   "base64", "basenc",  "go",
                     "protoc",  "magick", "convert", "qemu-img", "xxd",    "sqlite3", "jq"})) {
    // Compilers, compressors and converters: -o FILE (openssl: -out) is the file they write.
    for (size_t i = 0; i < args.size(); ++i) {
      if (program == "jq" || program == "sqlite3") break;  // -o is not an output file there
      if ((args[i] == "-out" || args[i] == "-o" || args[i] == "-keyout") && i + 1 < args.size()) {
        out.push_back(args[i + 1]);
      } else if (args[i].rfind("-o", 0) == 0 && args[i].size() > 2 && args[i][2] != '-') {
        out.push_back(args[i].substr(2));
      }
    }
  } else if (program == "curl") {
    const ScannedArgs scanned = scan_args(args, "oHdXAeuTrwKxEF", {"output", "header", "data"});
    if (const std::string* file = scanned.value("o")) out.push_back(*file);
    if (const std::string* file = scanned.value("output")) out.push_back(*file);
  } else if (program == "wget") {
    const ScannedArgs scanned = scan_args(args, "OPaoU", {"output-document"});
    if (const std::string* file = scanned.value("O")) out.push_back(*file);
    if (const std::string* file = scanned.value("output-document")) out.push_back(*file);
  }
  // --output FILE / --output=FILE / --outfile: with GNU-style tools a file that is written.
  if (!is_any(program, {"df", "curl", "wget", "ps", "jq", "kubectl", "aws", "gcloud", "az"})) {
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--") break;
      for (std::string_view option : {"--output", "--outfile", "--output-file", "--out-file"}) {
        if (args[i] == option && i + 1 < args.size()) out.push_back(args[i + 1]);
        if (args[i].rfind(std::string(option) + "=", 0) == 0) {
          out.push_back(args[i].substr(option.size() + 1));
        }
      }
    }
  }
  std::erase_if(out, [](const std::string& path) {
    return path.empty() || path == "-" || is_harmless_sink(path);
  });
  return out;
}

std::vector<std::string> destroyed_paths(const Invocation& invocation) {
  std::vector<std::string> out;
  const std::string& program = invocation.program;
  if (program == "rm" || program == "unlink" || program == "shred") {
    out = scan_args(invocation.args, "nsx", {"iterations", "size"}).operands;
  } else if (program == "mv") {
    ScannedArgs scanned = scan_args(invocation.args, "tS", {"target-directory", "suffix"});
    const bool has_target_option = scanned.value("t") || scanned.value("target-directory");
    if (!has_target_option && !scanned.operands.empty()) scanned.operands.pop_back();
    out = std::move(scanned.operands);
  }
  return out;
}

}  // namespace cmdai::safety
