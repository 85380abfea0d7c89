#include "cli/terminal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <optional>
#include <string_view>

namespace cmdai::cli {

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }
bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }
bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

bool use_color(bool for_stderr) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  // A dumb terminal (TERM=dumb: Emacs shells, some CI logs) shows escape codes as text.
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return for_stderr ? stderr_is_terminal() : stdout_is_terminal();
}

bool have_terminal() {
  const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

namespace {

// Writes `question` to /dev/tty and reads one answer line there, lower-cased and trimmed;
// nullopt without a terminal. EOF reads as an empty answer.
std::optional<std::string> ask_on_terminal(std::string_view question) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) return std::nullopt;
  std::fwrite(question.data(), 1, question.size(), tty);
  std::fflush(tty);
  char line[64] = {};
  std::string answer;
  if (std::fgets(line, sizeof line, tty) != nullptr) {
    answer = line;
    while (!answer.empty() &&
           (answer.back() == '\n' || answer.back() == '\r' || answer.back() == ' ')) {
      answer.pop_back();
    }
    for (char& c : answer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  } else {
    std::fputs("\n", tty);
  }
  std::fclose(tty);
  return answer;
}

}  // namespace

Choice ask_run_no_edit(bool allow_edit) {
  const std::optional<std::string> answer =
      ask_on_terminal(allow_edit ? "Run it? [y/N/e(dit)] " : "Run it? [y/N] ");
  if (!answer) return Choice::kNo;
  if (*answer == "y" || *answer == "yes") return Choice::kRun;
  if (allow_edit && (*answer == "e" || *answer == "edit")) return Choice::kEdit;
  return Choice::kNo;
}

bool ask_yes_no(std::string_view question) {
  const std::optional<std::string> answer = ask_on_terminal(std::string(question) + " [y/N] ");
  return answer && (*answer == "y" || *answer == "yes");
}

bool can_ask_on_terminal() {
  if (!stderr_is_terminal()) return false;
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) return false;
  std::fclose(tty);
  return true;
}

std::string read_all_stdin() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace cmdai::cli
