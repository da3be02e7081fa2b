// bench/bench_stats.h: summaries of repeated timings and the JSON entries every benchmark emits.
//
// A benchmark repeats each workload R times per variant. Summary gives min, median and max of one
// variant's samples and its spread, (max - min) / median: the run-to-run noise a reader needs to
// judge whether two ratios differ. Ratios are cost ratios, encrypted / plaintext (> 1 = slower),
// taken on medians; PairedRatios also gives the ratio of each repetition's pair (the variants run
// interleaved, so repetition r of both ran close together in time), whose range is the spread of
// the ratio itself.
//
// MakeEntry builds one object of the JSON list the issue specifies: name, unit, value (the
// measured variant's median), baseline (a label), baseline_value (the baseline's median), ratio,
// plus min/median/max/spread of both sides, the per-repetition ratios and their range, and
// ratio_of_min (fastest run / fastest run: noise only adds time, so it is the robust estimate when
// the machine is busy). When either
// side has no samples (the workload failed), value, baseline_value and ratio are null.
//
// Uses no SQLite, so both benchmark binaries link it. Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fieldsync::bench {

struct Summary {
  size_t count = 0;
  double min = 0;
  double median = 0;
  double max = 0;
  // (max - min) / median; 0 for fewer than two samples.
  double spread() const { return (count < 2 || median <= 0) ? 0 : (max - min) / median; }
};

// Summary of the samples; count == 0 when there are none.
Summary Summarize(std::vector<double> samples);

// numerator[i] / denominator[i] for each repetition; empty unless both have the same, non-zero
// length.
std::vector<double> PairedRatios(const std::vector<double>& numerator,
                                 const std::vector<double>& denominator);

// Median ratio; nullopt when either side is empty or the baseline median is zero.
std::optional<double> MedianRatio(const std::vector<double>& value_samples,
                                  const std::vector<double>& baseline_samples);

nlohmann::json MakeEntry(const std::string& name, const std::string& unit,
                         const std::string& baseline, const std::vector<double>& value_samples,
                         const std::vector<double>& baseline_samples);

// Adds the CPU-time view of the same runs to an entry: cpu_samples, baseline_cpu_samples,
// cpu_value, cpu_baseline_value (medians), cpu_ratio (of medians) and cpu_ratio_of_min. On a busy
// shared machine CPU time is far steadier than wall time, and encryption is CPU work.
void AddCpuTimes(nlohmann::json& entry, const std::vector<double>& value_cpu,
                 const std::vector<double>& baseline_cpu);

// Reads a number or null from an entry; nullopt when absent or null.
std::optional<double> JsonNumber(const nlohmann::json& entry, const char* key);

}  // namespace fieldsync::bench
