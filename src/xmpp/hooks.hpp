#pragma once
// Typed hooks with named stages. An event is a plain struct (events.hpp); a
// handler subscribes to one event type, so a misspelt event does not compile.
// Order: stages run in declaration order (Filter first); within a stage a
// higher tie-break runs first. Orderings that modules rely on are listed in
// docs/hooks.md. Registration happens at start-up, before any I/O thread runs.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <typeindex>
#include <unordered_map>
#include <vector>

namespace parley {

enum class Flow { Continue, Stop };

enum class Stage {
  Filter,      // drop or refuse (blocking, privacy, rate limits)
  PreProcess,  // rewrite, stamp (stanza-id, delay)
  Process,     // the module that owns the stanza handles it
  Deliver,     // default delivery and fall-backs (offline storage)
  Archive,     // after delivery: archive, push
  Log,         // observers only; must return Continue
};

using HookId = uint64_t;

class HookBus {
 public:
  template <class Event>
  HookId on(std::function<Flow(Event&)> handler, Stage stage, int tiebreak = 0) {
    auto& list = table_[std::type_index(typeid(Event))];
    const HookId id = next_id_++;
    Entry entry{id, stage, tiebreak,
                [h = std::move(handler)](void* e) { return h(*static_cast<Event*>(e)); }};
    auto pos = std::upper_bound(list.begin(), list.end(), entry, [](const Entry& a, const Entry& b) {
      if (a.stage != b.stage) return a.stage < b.stage;
      return a.tiebreak > b.tiebreak;
    });
    list.insert(pos, std::move(entry));
    return id;
  }

  // Runs the handlers in order until one returns Stop.
  template <class Event>
  Flow run(Event& event) const {
    auto it = table_.find(std::type_index(typeid(Event)));
    if (it == table_.end()) return Flow::Continue;
    for (const auto& entry : it->second)
      if (entry.fn(&event) == Flow::Stop) return Flow::Stop;
    return Flow::Continue;
  }

  template <class Event>
  bool has_handlers() const {
    auto it = table_.find(std::type_index(typeid(Event)));
    return it != table_.end() && !it->second.empty();
  }

  void remove(HookId id) {
    for (auto& [type, list] : table_)
      std::erase_if(list, [id](const Entry& e) { return e.id == id; });
  }

 private:
  struct Entry {
    HookId id;
    Stage stage;
    int tiebreak;
    std::function<Flow(void*)> fn;
  };
  std::unordered_map<std::type_index, std::vector<Entry>> table_;
  HookId next_id_ = 1;
};

}  // namespace parley
