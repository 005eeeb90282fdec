// Names for the daemon's threads, as `top -H`, `ps -L`, perf and /proc/PID/task/*/comm
// show them: without them every thread of mailhook reads "mailhook", and only
// librdkafka's own ("rdk:broker1", ...) can be told apart when a profile or an operator
// asks which thread burns the CPU.
#pragma once

#include <string_view>

namespace mailhook {

// Names the calling thread. Linux keeps 15 bytes of a name: longer ones are cut there.
// Best effort: a name the system refuses leaves the thread as it was.
void name_current_thread(std::string_view name) noexcept;

}  // namespace mailhook
