#pragma once
// Latency samples and the one-line JSON report every scenario prints.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bench {

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;  // milliseconds
  size_t count = 0;
};

// `samples` in nanoseconds; sorted in place.
inline Percentiles percentiles(std::vector<int64_t>& samples) {
  Percentiles p;
  p.count = samples.size();
  if (samples.empty()) return p;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size()))) - 1;
    if (i >= samples.size()) i = samples.size() - 1;
    return static_cast<double>(samples[i]) / 1e6;
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = static_cast<double>(samples.back()) / 1e6;
  double sum = 0;
  for (int64_t s : samples) sum += static_cast<double>(s);
  p.mean = sum / static_cast<double>(samples.size()) / 1e6;
  return p;
}

// Builds one JSON object; keys keep their order.
class Json {
 public:
  Json& str(std::string_view key, std::string_view value) {
    open(key);
    quote(value);
    return *this;
  }
  Json& num(std::string_view key, double value) {
    open(key);
    if (!std::isfinite(value)) {
      out_ += "null";
      return *this;
    }
    char buf[64];
    if (value == std::floor(value) && std::fabs(value) < 1e15)
      std::snprintf(buf, sizeof buf, "%.0f", value);
    else
      std::snprintf(buf, sizeof buf, "%.4g", value);
    out_ += buf;
    return *this;
  }
  Json& boolean(std::string_view key, bool value) {
    open(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  Json& raw(std::string_view key, std::string_view json) {
    open(key);
    out_ += json;
    return *this;
  }
  Json& latency(std::string_view prefix, const Percentiles& p) {
    std::string k(prefix);
    num(k + "_p50_ms", round3(p.p50));
    num(k + "_p90_ms", round3(p.p90));
    num(k + "_p99_ms", round3(p.p99));
    num(k + "_max_ms", round3(p.max));
    num(k + "_mean_ms", round3(p.mean));
    return *this;
  }
  std::string done() const { return out_ + "}"; }

  static double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

 private:
  void open(std::string_view key) {
    out_ += out_.size() == 1 ? "" : ",";
    quote(key);
    out_ += ':';
  }
  void quote(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }
  std::string out_ = "{";
};

}  // namespace parley::bench
