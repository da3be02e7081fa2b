// bench/bench_stats.cc: min/median/max, paired ratios and the JSON entry format (see the header).
#include "bench_stats.h"

#include <algorithm>

namespace fieldsync::bench {

Summary Summarize(std::vector<double> samples) {
  Summary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.min = samples.front();
  s.max = samples.back();
  size_t mid = samples.size() / 2;
  s.median = (samples.size() % 2) ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
  return s;
}

std::vector<double> PairedRatios(const std::vector<double>& numerator,
                                 const std::vector<double>& denominator) {
  std::vector<double> out;
  if (numerator.empty() || numerator.size() != denominator.size()) return out;
  for (size_t i = 0; i < numerator.size(); ++i) {
    if (denominator[i] <= 0) return {};
    out.push_back(numerator[i] / denominator[i]);
  }
  return out;
}

std::optional<double> MedianRatio(const std::vector<double>& value_samples,
                                  const std::vector<double>& baseline_samples) {
  Summary v = Summarize(value_samples);
  Summary b = Summarize(baseline_samples);
  if (v.count == 0 || b.count == 0 || b.median <= 0) return std::nullopt;
  return v.median / b.median;
}

namespace {

nlohmann::json SummaryJson(const Summary& s) {
  if (s.count == 0) return nullptr;
  return {{"min", s.min}, {"median", s.median}, {"max", s.max}, {"spread", s.spread()}};
}

}  // namespace

nlohmann::json MakeEntry(const std::string& name, const std::string& unit,
                         const std::string& baseline, const std::vector<double>& value_samples,
                         const std::vector<double>& baseline_samples) {
  Summary v = Summarize(value_samples);
  Summary b = Summarize(baseline_samples);
  std::optional<double> ratio = MedianRatio(value_samples, baseline_samples);
  std::vector<double> paired = PairedRatios(value_samples, baseline_samples);
  Summary r = Summarize(paired);

  nlohmann::json e;
  e["name"] = name;
  e["unit"] = unit;
  e["value"] = v.count ? nlohmann::json(v.median) : nlohmann::json(nullptr);
  e["baseline"] = baseline;
  e["baseline_value"] = b.count ? nlohmann::json(b.median) : nlohmann::json(nullptr);
  e["ratio"] = ratio ? nlohmann::json(*ratio) : nlohmann::json(nullptr);
  e["repeats"] = std::max(v.count, b.count);
  e["min"] = v.count ? nlohmann::json(v.min) : nlohmann::json(nullptr);
  e["median"] = e["value"];
  e["max"] = v.count ? nlohmann::json(v.max) : nlohmann::json(nullptr);
  e["spread"] = v.count ? nlohmann::json(v.spread()) : nlohmann::json(nullptr);
  e["baseline_stats"] = SummaryJson(b);
  e["samples"] = value_samples;
  e["baseline_samples"] = baseline_samples;
  e["ratio_per_repeat"] = paired;
  e["ratio_min"] = r.count ? nlohmann::json(r.min) : nlohmann::json(nullptr);
  e["ratio_max"] = r.count ? nlohmann::json(r.max) : nlohmann::json(nullptr);
  // Noise on a shared machine only ever adds time, so the ratio of the fastest runs is the more
  // robust estimate when the spread is large.
  e["ratio_of_min"] =
      (v.count && b.count && b.min > 0) ? nlohmann::json(v.min / b.min) : nlohmann::json(nullptr);
  return e;
}

void AddCpuTimes(nlohmann::json& entry, const std::vector<double>& value_cpu,
                 const std::vector<double>& baseline_cpu) {
  Summary v = Summarize(value_cpu);
  Summary b = Summarize(baseline_cpu);
  std::optional<double> ratio = MedianRatio(value_cpu, baseline_cpu);
  entry["cpu_samples"] = value_cpu;
  entry["baseline_cpu_samples"] = baseline_cpu;
  entry["cpu_value"] = v.count ? nlohmann::json(v.median) : nlohmann::json(nullptr);
  entry["cpu_baseline_value"] = b.count ? nlohmann::json(b.median) : nlohmann::json(nullptr);
  entry["cpu_ratio"] = ratio ? nlohmann::json(*ratio) : nlohmann::json(nullptr);
  entry["cpu_ratio_of_min"] =
      (v.count && b.count && b.min > 0) ? nlohmann::json(v.min / b.min) : nlohmann::json(nullptr);
}

std::optional<double> JsonNumber(const nlohmann::json& entry, const char* key) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace fieldsync::bench
