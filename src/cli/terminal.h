// What cmdai needs from the terminal: is it one, colours, and the run / no / edit question.
#pragma once

#include <string>
#include <string_view>

namespace cmdai::cli {

bool stdin_is_terminal();
bool stdout_is_terminal();
bool stderr_is_terminal();
// Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org).
bool use_color(bool for_stderr);

// Whether there is a terminal to ask on (/dev/tty opens): stdin, stdout and stderr may all be
// pipes while the user sits at one, as in `echo req | cmdai -x` or a shell's key binding.
bool have_terminal();

enum class Choice { kRun, kNo, kEdit };

// Asks on /dev/tty "Run it? [y/N/e(dit)]" and reads the answer from there, so it works even when
// stdin carried the request. Anything but y/yes/e/edit is no; EOF or no terminal is no.
Choice ask_run_no_edit(bool allow_edit);
// Asks `question` (e.g. "Put it on your prompt line?") on /dev/tty with " [y/N] "; true only for
// y/yes.
bool ask_yes_no(std::string_view question);

// Whether a question can reach the user: stderr is a terminal and /dev/tty opens. Scripts, cron
// and CI (stderr redirected, no controlling terminal) get no questions.
bool can_ask_on_terminal();

// Reads all of stdin (the request when it is not a terminal), trimmed.
std::string read_all_stdin();

}  // namespace cmdai::cli
