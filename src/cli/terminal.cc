#include "cli/terminal.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
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

Choice ask_run_no_edit(bool allow_edit) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) return Choice::kNo;
  std::fputs(allow_edit ? "Run it? [y/N/e(dit)] " : "Run it? [y/N] ", tty);
  std::fflush(tty);
  char line[64] = {};
  Choice choice = Choice::kNo;
  if (std::fgets(line, sizeof line, tty) != nullptr) {
    std::string answer(line);
    while (!answer.empty() &&
           (answer.back() == '\n' || answer.back() == '\r' || answer.back() == ' ')) {
      answer.pop_back();
    }
    for (char& c : answer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (answer == "y" || answer == "yes")
      choice = Choice::kRun;
    else if (allow_edit && (answer == "e" || answer == "edit"))
      choice = Choice::kEdit;
  } else {
    std::fputs("\n", tty);
  }
  std::fclose(tty);
  return choice;
}

bool can_ask_on_terminal() {
  if (!stderr_is_terminal()) return false;
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) return false;
  std::fclose(tty);
  return true;
}

bool ask_yes_no(const std::string& question) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) return false;
  std::fputs(question.c_str(), tty);
  std::fputs(" [y/N] ", tty);
  std::fflush(tty);
  char line[64] = {};
  bool yes = false;
  if (std::fgets(line, sizeof line, tty) != nullptr) {
    std::string answer(line);
    while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back()))) {
      answer.pop_back();
    }
    for (char& c : answer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    yes = answer == "y" || answer == "yes";
  } else {
    std::fputs("\n", tty);
  }
  std::fclose(tty);
  return yes;
}

std::string read_all_stdin() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace cmdai::cli
