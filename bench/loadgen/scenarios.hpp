#pragma once
// The scenarios of parley-loadgen. Each prints one JSON line on stdout.
#include <string>

#include "runner.hpp"

namespace parley::bench {

void scenario_register(Runner& r, const Args& args);
void scenario_login(Runner& r, const Args& args);
void scenario_idle(Runner& r, const Args& args);
void scenario_chat(Runner& r, const Args& args);
void scenario_muc(Runner& r, const Args& args);
void scenario_roster(Runner& r, const Args& args);
void scenario_mam(Runner& r, const Args& args);

void print_line(const std::string& json);

}  // namespace parley::bench
